// Type check of the generated index.d.ts (ESM import): `tsc -p __test__/tsconfig.json`.
// It is compiled only (--noEmit), never run; the node tests run the same calls.
import { readFileSync } from 'node:fs'
import {
  BusinessHours,
  CallMapper,
  CdrParser,
  Config,
  ExtensionMap,
  evaluateGroups,
  loadConfig,
  normalizeNumbers,
  normalizeNumbersDetailed,
  Sideloader,
  type SideloaderStatus,
  type SideloaderSummary,
  type CallRequest,
  type LineOutcome,
  type PbxError,
} from 'pbx-node'

const config = loadConfig('examples/config/sideloader.yml')
const parser = new CdrParser(config.cdrTemplate.join(','))
const mapper = CallMapper.fromConfig(config)

const outcomes: LineOutcome[] = mapper.mapLines(parser, readFileSync('examples/data/cdr-sample.log'))
const calls: CallRequest[] = outcomes.flatMap((o) => (o.call ? [o.call] : []))
const inbound: number = calls.filter((c) => c.callDirection === 'INBOUND').length

for (const p of parser.parseLines(['Call 1,bad'])) {
  if (p.error) console.log(p.error.code, p.error.line, p.error.field)
  else if (p.cdr) console.log(mapper.classify(p.cdr).rule === 'FROM_TYPE_EXTERNAL', p.cdr.talkSeconds)
}

const hours: BusinessHours | null = BusinessHours.fromConfig(config)
if (hours) {
  const open: boolean = hours.isOpen(new Date())
  const next = hours.nextChange(new Date())
  console.log(open, next?.at.toISOString(), next?.opens)
  const { actions, state } = evaluateGroups(hours, [{ id: '800', name: 'Support', kind: 'queue', members: [] }], null, new Date())
  for (const a of actions) if (a.action === 'open' && a.request) console.log(a.request.alertType, JSON.stringify(state))
}

const numbers: Array<string | null> = normalizeNumbers(['(907) 555-1234'], { defaultRegion: 'US' })
console.log(numbers[0] ?? 'withheld or invalid')
const detailed = normalizeNumbersDetailed(['(907) 555-1234'])
console.log(detailed[0].kind === 'e164' ? detailed[0].value : undefined)
const bulk: Array<{ line: number; call?: unknown; skipped?: string }> = JSON.parse(
  mapper.mapLinesJson(parser, readFileSync('examples/data/cdr-sample.log')),
)
console.log(bulk.length)

try {
  new ExtensionMap({ '101': 'anna@example.com', '102': { email: 'bob@example.com', name: 'Bob' } })
  Config.fromYaml('nonsense: [')
} catch (e) {
  const err = e as PbxError
  if (err.code === 'PBX_CONFIG_ERROR') for (const i of err.issues ?? []) console.log(i.path, i.value, i.message)
}
console.log(inbound)

// The sideloader runtime (any source, the call API or a file): drain once, or run and stop.
const sideloader = new Sideloader(loadConfig('examples/config/embedded-default.yml'))
const drained: SideloaderSummary = await sideloader.runOnce()
console.log(drained.delivered, drained.skipped['internal'], drained.checkpoint, drained.text)
const fromPath = new Sideloader('examples/config/embedded-default.yml')
fromPath.trigger()
sideloader.start()
const stopped: SideloaderStatus = await sideloader.stop()
console.log(stopped.running, sideloader.status().lastError)
