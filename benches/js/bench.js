// One timing for benches/compare.sh, in a process of its own (so its peak RSS is its own):
//   node bench.js phone-libphonenumber FILE   libphonenumber-js: parse + isPossible + E.164
//   node bench.js phone-pbx FILE              pbx-node normalizeNumbers (one batch, strings)
//   node bench.js phone-pbx-detailed FILE     pbx-node normalizeNumbersDetailed (objects)
//   node bench.js cdr-js FILE                 the old sideloader's handling (old-cdr.js)
//   node bench.js cdr-pbx FILE                pbx-node CallMapper.mapLines (one batch, objects)
//   node bench.js cdr-pbx-json FILE           pbx-node CallMapper.mapLinesJson + JSON.parse
// FILE holds one input per line. Prints `rate=<items per second> n=<items> check=<n>`: the
// best of RUNS (default 3) runs, after a warm-up run that is not counted. pbx-node is loaded
// from $PBX_NODE, libphonenumber-js from $NODE_PATH.

'use strict'

const fs = require('fs')
const path = require('path')

const [mode, file] = process.argv.slice(2)
const runs = Number(process.env.RUNS || 3)
const text = fs.readFileSync(file, 'utf8')
const lines = text.split('\n').filter((l) => l.length > 0)
const pbx = () => require(path.resolve(process.env.PBX_NODE || '../../pbx-node'))

function time(fn) {
  let check = fn()
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    check = fn()
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9)
  }
  console.log(`rate=${(lines.length / best).toFixed(0)} n=${lines.length} check=${check}`)
}

const extensions = {}
for (const m of fs.readFileSync(path.join(__dirname, '../../examples/data/extensions.yml'), 'utf8')
  .matchAll(/^\s*"(\d+)":\s*(?:\{\s*email:\s*([^,\s}]+)|([^\s#]+))/gm)) {
  extensions[m[1]] = m[2] || m[3]
}

switch (mode) {
  case 'phone-libphonenumber': {
    const { parsePhoneNumber } = require('libphonenumber-js')
    time(() => {
      let e164 = 0
      for (const s of lines) {
        try {
          const n = parsePhoneNumber(s, 'US')
          if (n.isPossible() && n.format('E.164')) e164++
        } catch (e) {
          // not a number
        }
      }
      return e164
    })
    break
  }
  case 'phone-pbx': {
    const { normalizeNumbers } = pbx()
    time(() => normalizeNumbers(lines, { defaultRegion: 'US' }).filter((n) => n !== null && n[0] === '+').length)
    break
  }
  case 'phone-pbx-detailed': {
    const { normalizeNumbersDetailed } = pbx()
    time(() => normalizeNumbersDetailed(lines, { defaultRegion: 'US' }).filter((n) => n.kind === 'e164').length)
    break
  }
  case 'cdr-pbx-json': {
    const { CdrParser, CallMapper, ExtensionMap } = pbx()
    const parser = new CdrParser('27')
    const mapper = new CallMapper(new ExtensionMap(extensions), { timezone: 'America/Anchorage' })
    time(() => JSON.parse(mapper.mapLinesJson(parser, text)).filter((o) => o.call).length)
    break
  }
  case 'cdr-js': {
    const { makeMapper } = require('./old-cdr.js')
    const mapLine = makeMapper({ timeZone: 'America/Anchorage', extensions })
    time(() => {
      let calls = 0
      for (const l of lines) if (mapLine(l).phoneNumber !== undefined) calls++
      return calls
    })
    break
  }
  case 'cdr-pbx': {
    const { CdrParser, CallMapper, ExtensionMap } = pbx()
    const parser = new CdrParser('27')
    const mapper = new CallMapper(new ExtensionMap(extensions), { timezone: 'America/Anchorage' })
    time(() => mapper.mapLines(parser, text).filter((o) => o.call).length)
    break
  }
  default:
    console.error('usage: node bench.js phone-libphonenumber|phone-pbx|phone-pbx-detailed|cdr-js|cdr-pbx|cdr-pbx-json FILE')
    process.exit(2)
}
