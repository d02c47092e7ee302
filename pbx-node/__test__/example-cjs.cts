// Type check of the generated index.d.ts through `require` (CommonJS).
import pbx = require('pbx-node')

const parser = new pbx.CdrParser('20')
const cdr = parser.parseLine('Call 1,abc_1,00:00:05,2020/06/29 07:56:32,,,TerminatedBySrc,0466452265,Ext.611,10000,611,611,,,,,,,,')
const result: pbx.MapResult = pbx.toCallRequest(cdr, new pbx.CallMapper(new pbx.ExtensionMap({ '611': 'x@example.com' })))
console.log(result.call?.pbxCallId ?? result.skipped?.reason)
