// CallMapper.explain and Sideloader.explain: the decision trail from the core
// (pbx_core::explain, docs/explain.md), the same names and keys as Python's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CallMapper, CdrParser, Config, Sideloader } from '../index.js'
import { path, read } from './helpers.mjs'

const SAMPLE = read('examples/data/cdr-sample.log').split('\n').filter((l) => l !== '')
const embedded = () =>
  read('examples/config/embedded-default.yml').replace('examples/data/', path('examples/data') + '/')

test('explain agrees with map on every sample line', () => {
  const mapper = CallMapper.fromConfig(Config.fromYaml(embedded(), {}))
  const parser = new CdrParser('27')
  SAMPLE.forEach((line, i) => {
    const e = mapper.explain(line, parser)
    const mapped = mapper.map(parser.parseLine(line, i + 1))
    if (mapped.call) {
      assert.equal(e.outcome.kind, 'call', `line ${i + 1}`)
      assert.deepEqual(e.outcome.request, mapped.call)
      assert.equal(e.owner.extension, mapped.call.callOwnerExtension)
    } else {
      assert.equal(e.outcome.kind, 'skipped', `line ${i + 1}`)
      assert.equal(e.outcome.reason.toUpperCase(), mapped.skipped.reason)
    }
    assert.ok(e.text.startsWith('call       3cx-'))
  })
  const third = mapper.explain(parser.parseLine(SAMPLE[2]))
  assert.equal(third.owner.rule, 'FINAL_DN')
  assert.equal(third.direction.rule, 'FROM_TYPE_EXTERNAL')
  assert.equal(mapper.explain('Call 1,abc,too few fields').outcome.kind, 'refused')
})

test('Sideloader.explain reads the call from the source with its delivery state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-explain-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const s = new Sideloader(Config.fromYaml(embedded().replaceAll('out/', dir + '/'), {}))
  assert.equal((await s.explain('40003')).delivery.position, 'no_checkpoint')
  await s.runOnce()
  const e = await s.explain('3cx-40003-000001A19D6FA898_5209')
  assert.equal(e.delivery.position, 'before_checkpoint')
  assert.equal(e.outcome.request.callOwnerExtension, '104')
  assert.equal((await s.explain(null, 3)).pbx_call_id, e.pbx_call_id)
  assert.equal(await s.explain('no-such-call'), null)
})
