// Copied by __test__/run.sh into a scratch project where `npm install ./pbx-node` put the
// package (target/node-scratch) and run there: both `require('pbx-node')` and
// `import … from 'pbx-node'` resolve to the installed copy and work. Skipped anywhere else
// (inside the package, `pbx-node` resolves to the package's own folder).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { existsSync, lstatSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const project = dirname(fileURLToPath(import.meta.url))
const installed = join(project, 'node_modules', 'pbx-node')
const copied = existsSync(installed) && !lstatSync(installed).isSymbolicLink()

test('require and import of the installed package', { skip: !copied && 'not in a project with pbx-node installed' }, async () => {
  const require = createRequire(import.meta.url)
  assert.ok(require.resolve('pbx-node').startsWith(installed + '/'), require.resolve('pbx-node'))
  const cjs = require('pbx-node')
  const esm = await import('pbx-node')
  assert.equal(esm.default, cjs)
  for (const name of ['CdrParser', 'CallMapper', 'ExtensionMap', 'Config', 'loadConfig', 'mapLines', 'normalizeNumbers', 'toCallRequest']) {
    assert.equal(typeof cjs[name], 'function', name)
    assert.equal(esm[name], cjs[name], name)
  }
  const mapper = new cjs.CallMapper(new cjs.ExtensionMap({ 611: 'x@example.com' }), { timezone: 'UTC' })
  const line = 'Call 1,abc_1,00:00:05,2020/06/29 07:56:32,,,TerminatedBySrc,0466452265,Ext.611,10000,611,611,,,,,,,,'
  const [out] = esm.mapLines(new esm.CdrParser('20'), [line], mapper)
  assert.equal(out.call.pbxCallId, '3cx-1-abc_1')
})
