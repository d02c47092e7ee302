// The shared test vectors (tests/vectors/core.json), read by the Rust and Python tests too.
// The vectors use snake_case names (Python's); here they are read in camelCase.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BusinessHours, CallMapper, CdrParser, Config, classify, mapLines, normalizeNumber, normalizeNumbers, normalizeNumbersDetailed, toCallRequest,
} from '../index.js'
import { read } from './helpers.mjs'

const vectors = JSON.parse(read('tests/vectors/core.json'))
const base = vectors.config_base
const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const mapper = (extra) => CallMapper.fromConfig(Config.fromYaml(base + extra, {}))
const parse = (c) => new CdrParser(c.template).parseLine(c.text, c.line_no ?? 1)
const iso = (d) => d.toISOString().replace('.000Z', 'Z')
const errorOf = (e) => ({ kind: e.kind, line: e.line ?? null, field: e.field ?? null, value: e.value ?? null, message: e.message })
const throwsLike = (fn, code, want) =>
  assert.throws(fn, (e) => {
    assert.equal(e.code, code, e.message)
    assert.deepEqual(errorOf(e), want)
    return true
  })

test('every vector list has cases (an empty one would check nothing)', () => {
  for (const key of ['phone', 'cdr', 'direction', 'calls', 'hours', 'config_errors', 'templates']) {
    assert.ok(Array.isArray(vectors[key]) && vectors[key].length > 0, `tests/vectors/core.json: ${key} is empty`)
  }
})

test('phone numbers', () => {
  for (const c of vectors.phone) {
    const n = normalizeNumber(c.raw, { defaultRegion: c.region })
    const got = Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined && v !== null))
    assert.deepEqual(got, c.expect, c.raw)
  }
  for (const region of new Set(vectors.phone.map((c) => c.region))) {
    const raws = vectors.phone.filter((c) => c.region === region).map((c) => c.raw)
    assert.deepEqual(normalizeNumbersDetailed(raws, { defaultRegion: region }), raws.map((r) => normalizeNumber(r, { defaultRegion: region })))
    const values = vectors.phone.filter((c) => c.region === region).map((c) => c.expect.value ?? null)
    assert.deepEqual(normalizeNumbers(raws, { defaultRegion: region }), values)
  }
})

test('CDR lines: fields and parse errors', () => {
  for (const c of vectors.cdr) {
    if (c.expect.error) {
      throwsLike(() => parse(c), 'PBX_PARSE_ERROR', c.expect.error)
      const [batch] = new CdrParser(c.template).parseLines([c.text])
      assert.equal(batch.line, 1, c.name)
      assert.equal(batch.error.code, 'PBX_PARSE_ERROR', c.name)
      for (const k of ['kind', 'field', 'value']) assert.equal(batch.error[k] ?? null, c.expect.error[k], `${c.name}: ${k}`)
      continue
    }
    const cdr = parse(c)
    const fields = cdr.toObject()
    for (const [key, want] of Object.entries(c.expect.fields)) {
      let got
      if (key === 'talk_seconds') got = cdr.talkSeconds
      else if (key === 'is_answered') got = cdr.isAnswered
      else got = fields[camel(key)]
      if (got instanceof Date) got = iso(got)
      assert.deepEqual(got ?? null, want, `${c.name}: ${key}`)
    }
  }
})

test('direction and the deciding rule', () => {
  for (const c of vectors.direction) {
    const m = mapper(c.config)
    const cdr = parse(c)
    const k = classify(cdr, m)
    assert.deepEqual(
      { direction: k.direction, rule: k.rule, owner: k.owner ?? null, counterpart: k.counterpart ?? null },
      c.expect,
      c.name,
    )
    assert.deepEqual(m.classify(cdr), k, c.name)
  }
})

test('CDR line to the exact call request JSON, or the skip reason', () => {
  for (const c of vectors.calls) {
    const m = mapper(c.config)
    const cdr = parse(c)
    if (c.expect.error) {
      throwsLike(() => toCallRequest(cdr, m), 'PBX_PARSE_ERROR', c.expect.error)
      continue
    }
    const got = toCallRequest(cdr, m)
    if (c.expect.call) {
      assert.equal(got.skipped, undefined, c.name)
      assert.equal(JSON.stringify(got.call), JSON.stringify(c.expect.call), c.name) // exact body, field order too
    } else {
      assert.equal(got.call, undefined, c.name)
      const s = got.skipped
      assert.deepEqual({ skip: { reason: s.reason, extension: s.extension ?? null, message: s.message } }, c.expect, c.name)
    }
    const [batch] = mapLines(new CdrParser(c.template), [c.text], m)
    assert.equal(batch.line, 1)
    assert.deepEqual({ call: batch.call, skipped: batch.skipped }, { call: got.call, skipped: got.skipped }, c.name)
  }
})

test('business hours: isOpen and nextChange', () => {
  for (const c of vectors.hours) {
    const hours = c.xapi ? BusinessHours.fromXapi(c.xapi) : BusinessHours.fromConfig(Config.fromYaml(base + c.config, {}))
    for (const q of c.queries) {
      const at = new Date(q.at)
      const next = hours.nextChange(at)
      const got = { at: q.at, is_open: hours.isOpen(at), next_change: next ? { at: iso(next.at), opens: next.opens } : null }
      assert.deepEqual(got, q, `${c.name} at ${q.at}`)
    }
  }
})

test('configuration errors: every problem with its path', () => {
  for (const c of vectors.config_errors) {
    assert.throws(() => Config.fromYaml(base + c.yaml, c.env), (e) => {
      assert.equal(e.code, 'PBX_CONFIG_ERROR', c.name)
      assert.equal(e.kind, 'invalid_config', c.name)
      assert.deepEqual(e.issues.map((i) => ({ path: i.path, value: i.value ?? null, message: i.message })), c.issues, c.name)
      return true
    })
  }
})

test('field templates: one without the call ids is refused by the constructor', () => {
  for (const c of vectors.templates) {
    if (c.expect.error) {
      assert.throws(() => new CdrParser(c.template), (e) => {
        assert.deepEqual({ code: e.code, kind: e.kind, message: e.message }, c.expect.error, c.name)
        return true
      })
      continue
    }
    assert.deepEqual(new CdrParser(c.template).fields, c.expect.fields, c.name)
  }
})
