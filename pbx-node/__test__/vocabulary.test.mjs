// The binding only translates: every string it publishes or accepts for a pbx-core enum is
// that enum's code from pbx-core's vocabulary (`_vocabulary()` returns pbx-core's lists). This
// fails when pbx-core gains a vocabulary or a code that the binding does not map: a type in
// index.d.ts (from dts-header.d.ts) without the code, or a place that takes the value refusing it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as pbx from '../index.js'
import { sideloaderYaml } from './helpers.mjs'

const vocabulary = pbx._vocabulary()
const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')

// pbx-core vocabulary → the TypeScript type that lists its codes.
const TS_TYPE = {
  error_kind: 'ErrorKind',
  error_category: 'ErrorCategory',
  sideloader_error_kind: 'SideloaderErrorKind',
  skip_reason: 'SkipCode',
  call_direction: 'CallDirection',
  internal_calls: 'InternalCalls',
  direction: 'CallDirectionKind',
  direction_rule: 'DirectionRule',
  group_kind: 'GroupKind',
  resolve_reason: 'ResolveReason',
  number_format: 'NumberFormat',
  invalid_reason: 'InvalidReason',
  'source.kind': 'SourceKind',
  alert_action: 'AlertActionCode',
  hours_state: 'HoursReason',
}

function union(name) {
  const m = dts.match(new RegExp(`^export type ${name} = (.*)$`, 'm'))
  assert.ok(m, `index.d.ts has no type ${name}`)
  return m[1].split('|').map((s) => s.trim().replace(/^'|'$/g, '')).sort()
}

test('every pbx-core vocabulary has a TypeScript type listing exactly its codes', () => {
  assert.ok(Object.keys(vocabulary).length >= 14, Object.keys(vocabulary).join(', '))
  for (const [name, codes] of Object.entries(vocabulary)) {
    assert.ok(codes.length > 0, name)
    assert.ok(TS_TYPE[name], `pbx-core vocabulary ${name} has no binding type`)
    assert.deepEqual(union(TS_TYPE[name]), [...codes].sort(), name)
  }
  assert.deepEqual(Object.keys(TS_TYPE).filter((n) => !vocabulary[n]), [], 'types for vocabularies pbx-core lacks')
})

test('every code is accepted where the binding takes the value', () => {
  const hours = pbx.BusinessHours.always('UTC')
  for (const code of vocabulary.internal_calls) {
    assert.ok(new pbx.CallMapper(null, { internalCalls: code }), code)
  }
  for (const code of vocabulary.number_format) {
    assert.equal(typeof pbx.normalizeNumber('(907) 555-1234', { format: code }).value, 'string', code)
    assert.ok(new pbx.CallMapper(null, { numberFormat: code }), code)
  }
  for (const code of vocabulary.group_kind) {
    const group = { id: '800', name: 'Support', kind: code, members: [] }
    const evaluation = pbx.evaluateGroups(hours, [group], null, new Date(), { debounce: 1 })
    assert.equal(evaluation.actions.length, 1, code)
    assert.ok(vocabulary.alert_action.includes(evaluation.actions[0].action), code)
  }
  // The spellings Node used before the core vocabulary, accepted for one release.
  assert.ok(new pbx.CallMapper(null, { internalCalls: 'asOutbound' }))
  const old = { id: '801', name: 'Sales', kind: 'ringGroup', members: [] }
  assert.equal(pbx.evaluateGroups(hours, [old], null, new Date(), { debounce: 1 }).actions.length, 1)
  assert.throws(() => new pbx.CallMapper(null, { internalCalls: 'sometimes' }), (e) =>
    e.code === 'PBX_INVALID_ARGUMENT' && e.kind === 'invalid_setting' && e.setting === 'internal_calls')
})

test('what the binding publishes is a core code', () => {
  const config = pbx.Config.fromYaml(sideloaderYaml, {})
  assert.ok(vocabulary['source.kind'].includes(config.sourceKind))
  assert.ok(vocabulary.internal_calls.includes(config.internalCalls))
  const mapper = pbx.CallMapper.fromConfig(config)
  const parser = new pbx.CdrParser(config.cdrTemplate.join(','))
  for (const outcome of mapper.mapLines(parser, readFileSync(new URL('../../examples/data/cdr-sample.log', import.meta.url)))) {
    if (outcome.call) assert.ok(vocabulary.call_direction.includes(outcome.call.callDirection))
    if (outcome.skipped) assert.ok(vocabulary.skip_reason.includes(outcome.skipped.reason), outcome.skipped.reason)
    if (outcome.error) {
      assert.ok(vocabulary.error_category.includes(outcome.error.code), outcome.error.code)
      assert.ok(vocabulary.error_kind.includes(outcome.error.kind), outcome.error.kind)
    }
  }
  const cdr = parser.parseLines(readFileSync(new URL('../../examples/data/cdr-sample.log', import.meta.url))).find((l) => l.cdr).cdr
  const c = pbx.classify(cdr, config)
  assert.ok(vocabulary.direction.includes(c.direction))
  assert.ok(vocabulary.direction_rule.includes(c.rule))
  const invalid = pbx.normalizeNumber('+99 1234567')
  assert.ok(vocabulary.invalid_reason.includes(invalid.reason), JSON.stringify(invalid))
})
