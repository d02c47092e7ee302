// Every public function rejects an argument of the wrong type instead of ignoring it; the
// phone functions throw a TypeError naming the parameter and take the region as a string
// (like Python's `normalize_numbers(numbers, "AU")`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as pbx from '../index.js'

const typeError = (fn, param) =>
  assert.throws(fn, (e) => {
    assert.ok(e instanceof TypeError, `${e?.constructor?.name}: ${e?.message}`)
    assert.equal(e.code, 'PBX_INVALID_ARGUMENT')
    assert.match(e.message, new RegExp(`\\b${param} must be `))
    return true
  })

test('normalizeNumber(s) take the region as a string, like Python', async () => {
  const au = pbx.normalizeNumber('(02) 1234 4676', 'AU')
  assert.deepEqual(au, { kind: 'e164', value: '+61212344676' })
  // The bulk forms give the value alone; the detailed form the objects.
  assert.deepEqual(pbx.normalizeNumbers(['(02) 1234 4676'], 'AU'), [au.value])
  assert.deepEqual(await pbx.normalizeNumbersAsync(['(02) 1234 4676'], 'AU'), [au.value])
  assert.deepEqual(pbx.normalizeNumbers(['(02) 1234 4676'], { defaultRegion: 'AU' }), [au.value])
  assert.deepEqual(pbx.normalizeNumbersDetailed(['(02) 1234 4676'], 'AU'), [au])
  // An unknown region string is the same error as in the options object.
  assert.throws(() => pbx.normalizeNumber('1', 'XX'), (e) => e.code === 'PBX_INVALID_ARGUMENT')
})

test('phone functions: a TypeError naming the parameter', async () => {
  typeError(() => pbx.normalizeNumber('(02) 1234 4676', 42), 'options')
  typeError(() => pbx.normalizeNumber('(02) 1234 4676', true), 'options')
  typeError(() => pbx.normalizeNumber('(02) 1234 4676', ['AU']), 'options')
  typeError(() => pbx.normalizeNumber(2123444676), 'raw')
  typeError(() => pbx.normalizeNumber(), 'raw')
  typeError(() => pbx.normalizeNumbers('(02) 1234 4676', 'AU'), 'raws')
  typeError(() => pbx.normalizeNumbers([1, 2], 'AU'), 'raws')
  typeError(() => pbx.normalizeNumbers(['1'], 42), 'options')
  typeError(() => pbx.normalizeNumbersDetailed('(02) 1234 4676'), 'raws')
  typeError(() => pbx.normalizeNumbersDetailed(['1'], 42), 'options')
  typeError(() => pbx.normalizeNumbersAsync(['1'], 42), 'options')
  typeError(() => pbx.normalizeNumbersAsync(null), 'raws')
  // Options objects of the classes too: a string there is not silently the defaults.
  typeError(() => new pbx.CdrParser('27', 'strict'), 'options')
  typeError(() => new pbx.CallMapper(null, 'America/Anchorage'), 'options')
  typeError(() => new pbx.GroupMonitor(pbx.BusinessHours.weekdays('UTC'), 2), 'options')
  typeError(() => pbx.evaluateGroups(pbx.BusinessHours.weekdays('UTC'), [], null, new Date(), 'x'), 'options')
  assert.ok(new pbx.CdrParser('27', null))
  // Absent options are the defaults.
  assert.equal(pbx.normalizeNumber('(907) 555-1234', null).value, '+19075551234')
  assert.equal(pbx.normalizeNumber('(907) 555-1234', undefined).value, '+19075551234')
})

// One wrong-typed call per public function and class: it throws, never returns as if the
// argument were absent.
const LINE = 'Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,'

test('every public function rejects a wrong argument type', () => {
  const parser = new pbx.CdrParser('27')
  const cdr = parser.parseLine(LINE)
  const hours = pbx.BusinessHours.weekdays('UTC')
  const calls = {
    CdrParser: () => new pbx.CdrParser(27),
    CdrParserOptions: () => new pbx.CdrParser('27', 'strict'),
    'CdrParser.parseLine': () => parser.parseLine(42),
    CallMapper: () => new pbx.CallMapper('anna@example.com'),
    CallMapperOptions: () => new pbx.CallMapper(null, 'America/Anchorage'),
    ExtensionMap: () => new pbx.ExtensionMap(42),
    'BusinessHours.always': () => pbx.BusinessHours.always(42),
    'BusinessHours.weekdays': () => pbx.BusinessHours.weekdays('UTC', 9),
    'BusinessHours.fromXapi': () => pbx.BusinessHours.fromXapi(42),
    'BusinessHours.fromConfig': () => pbx.BusinessHours.fromConfig('config'),
    GroupMonitor: () => new pbx.GroupMonitor('hours'),
    'GroupMonitor.evaluate': () => new pbx.GroupMonitor(hours).evaluate('groups', null, new Date()),
    loadConfig: () => pbx.loadConfig(42),
    loadConfigFile: () => pbx.loadConfigFile(42),
    templateFields: () => pbx.templateFields(27),
    toCallRequest: () => pbx.toCallRequest(LINE),
    mapLines: () => pbx.mapLines('27', [LINE], new pbx.CallMapper()),
    classify: () => pbx.classify(LINE),
    evaluateGroups: () => pbx.evaluateGroups(hours, 'groups', null, new Date()),
    recordAlertId: () => pbx.recordAlertId(42, 'g', 'id'),
    alertOpenFailed: () => pbx.alertOpenFailed(42, 'g'),
    alertResolveFailed: () => pbx.alertResolveFailed(42, 'g'),
    adoptActiveAlerts: () => pbx.adoptActiveAlerts(42, 'alerts'),
    Sideloader: () => new pbx.Sideloader('config'),
  }
  const accepted = []
  for (const [name, call] of Object.entries(calls)) {
    try {
      call()
      accepted.push(name)
    } catch (e) {
      assert.ok(e instanceof Error, `${name}: threw ${e}`)
      assert.ok(e.message.length > 0, name)
    }
  }
  assert.deepEqual(accepted, [], 'accepted a wrong argument type silently')
  assert.ok(cdr)
})
