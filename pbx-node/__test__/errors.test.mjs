// Every thrown error is a JS Error with a stable `code` and the core error's details.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BusinessHours, CallMapper, CdrParser, ExtensionMap, Config, Sideloader, loadConfig, loadConfigFile, normalizeNumber, templateFields,
} from '../index.js'
import { existsSync } from 'node:fs'

const throwsCode = (fn, code, more = {}) =>
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, code, e.message)
    for (const [k, v] of Object.entries(more)) assert.deepEqual(e[k], v, k)
    return true
  })

test('a bad line: PBX_PARSE_ERROR with line, field and value', () => {
  const parser = new CdrParser('historyid,duration')
  throwsCode(() => parser.parseLine('Call 1,bad', 7), 'PBX_PARSE_ERROR', {
    kind: 'invalid_value', line: 7, field: 'duration', value: 'bad',
  })
  throwsCode(() => parser.parseLine('Call 1,00:00:01,x,y', 3), 'PBX_PARSE_ERROR', { kind: 'field_count', line: 3 })
  throwsCode(() => parser.parseLine('   '), 'PBX_PARSE_ERROR', { kind: 'empty_line', line: 1 })
  const short = new CdrParser('historyid', { maxLineLength: 5 })
  throwsCode(() => short.parseLine('Call 123456'), 'PBX_PARSE_ERROR', { kind: 'line_too_long' })
})

test('a record without a start time cannot be mapped: PBX_PARSE_ERROR naming the field', () => {
  const cdr = new CdrParser('historyid,from-no').parseLine('Call 1,9075551234')
  throwsCode(() => new CallMapper().map(cdr), 'PBX_PARSE_ERROR', { kind: 'invalid_value', field: 'time-start' })
})

test('unusable arguments: PBX_INVALID_ARGUMENT', () => {
  throwsCode(() => new CdrParser('historyid,nonsense'), 'PBX_INVALID_ARGUMENT', { kind: 'unknown_field', value: 'nonsense' })
  throwsCode(() => templateFields('historyid,historyid'), 'PBX_INVALID_ARGUMENT', { kind: 'invalid_template' })
  throwsCode(() => new CallMapper(null, { timezone: 'Mars/Olympus' }), 'PBX_INVALID_ARGUMENT', {
    kind: 'invalid_setting', setting: 'timezone', value: 'Mars/Olympus',
  })
  throwsCode(() => new CallMapper(null, { internalCalls: 'sometimes' }), 'PBX_INVALID_ARGUMENT')
  throwsCode(() => new CallMapper(null, { numberFormat: 'fancy' }), 'PBX_INVALID_ARGUMENT')
  throwsCode(() => normalizeNumber('1', { defaultRegion: 'XX' }), 'PBX_INVALID_ARGUMENT', { setting: 'defaultRegion' })
  throwsCode(() => new ExtensionMap({ 101: 42 }), 'PBX_INVALID_ARGUMENT')
  throwsCode(() => BusinessHours.always('UTC').isOpen(new Date('not a date')), 'PBX_INVALID_ARGUMENT')
  throwsCode(() => BusinessHours.always('UTC').isOpen('2026-11-23T18:00:00Z'), 'PBX_INVALID_ARGUMENT', {
    message: 'BusinessHours.isOpen: at must be a Date, not a string',
  })
  throwsCode(() => BusinessHours.fromXapi({ TimeZoneId: 'Atlantis Time', Hours: { Type: 'AllHours' } }), 'PBX_INVALID_ARGUMENT', {
    setting: 'TimeZoneId',
  })
})

test('a bad configuration: PBX_CONFIG_ERROR listing every issue with its path', () => {
  const yaml = 'source: { kind: file }\ncall_api: { base_url: "ftp://x", timeout_secs: 0 }\nbogus: 1\n'
  throwsCode(() => Config.fromYaml(yaml, {}), 'PBX_CONFIG_ERROR', { kind: 'invalid_config' })
  try {
    Config.fromYaml(yaml, {})
  } catch (e) {
    const paths = e.issues.map((i) => i.path)
    assert.ok(paths.includes('bogus'), paths.join(', '))
    assert.ok(paths.includes('call_api.base_url'), paths.join(', '))
    assert.ok(paths.includes('source.path'), paths.join(', '))
    for (const i of e.issues) assert.equal(typeof i.message, 'string')
    assert.equal(e.issues.find((i) => i.path === 'call_api.base_url').value, 'ftp://x')
    assert.match(e.message, /invalid configuration/)
  }
  throwsCode(() => Config.fromYaml('source: { kind: file, path: x }\ncall_api: { base_url: "${MISSING_VAR}" }\n', {}), 'PBX_CONFIG_ERROR')
})

test('a configuration error about a secret shows it redacted, as in Python', () => {
  const yaml =
    "source: { kind: postgres_cl, url: 'postgres://user:RealPassw0rd@${DB_HOST}/db' }\n" +
    "call_api: { base_url: 'http://x', token: 'RealT0ken-${TENANT}' }\n" +
    "http: { token: 'Tr1gger${' }\n"
  let error
  try {
    Config.fromYaml(yaml, {})
  } catch (e) {
    error = e
  }
  assert.equal(error.code, 'PBX_CONFIG_ERROR')
  const value = (path) => error.issues.find((i) => i.path === path).value
  assert.equal(value('source.url'), 'postgres://***@${DB_HOST}/db')
  assert.equal(value('call_api.token'), '***')
  assert.equal(value('http.token'), '***')
  const shown = error.message + JSON.stringify(error.issues)
  for (const secret of ['RealPassw0rd', 'RealT0ken', 'Tr1gger']) assert.ok(!shown.includes(secret), shown)
})

test('an unreadable configuration file: PBX_IO_ERROR', () => {
  throwsCode(() => loadConfig('/nonexistent/pbx.yml'), 'PBX_IO_ERROR', { kind: 'io', value: '/nonexistent/pbx.yml' })
  throwsCode(() => loadConfigFile('/nonexistent/pbx.yml'), 'PBX_IO_ERROR', { value: '/nonexistent/pbx.yml' })
})

test('an endless configuration file is refused at 1 MiB, as pbx-sideloader --config refuses it', { skip: !existsSync('/dev/zero') }, () => {
  const message = 'cannot read /dev/zero: it is over the limit of 1048576 bytes'
  for (const load of [() => loadConfig('/dev/zero'), () => Config.load('/dev/zero'), () => new Sideloader('/dev/zero')]) {
    throwsCode(load, 'PBX_IO_ERROR', { kind: 'io', value: '/dev/zero', message })
  }
})

test('a JS value of the wrong type: napi-rs refuses it with its own code', () => {
  assert.throws(() => new CdrParser().parseLine(42), (e) => e instanceof Error && typeof e.code === 'string')
})
