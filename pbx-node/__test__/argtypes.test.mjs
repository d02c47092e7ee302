// Every public function rejects an argument of the wrong type instead of ignoring it; the
// phone functions throw a TypeError naming the parameter and take the region as a string
// (like Python's `normalize_numbers(numbers, "AU")`).
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import * as pbx from '../index.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { path, read, sideloaderYaml } from './helpers.mjs'

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

// One wrong-typed call per public function, method, constructor and setter: a TypeError
// (code PBX_INVALID_ARGUMENT) whose message names the parameter. The test below enumerates the
// module's exports and class prototypes, so a new function cannot be added without a row here.
const LINE = 'Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,'

const parser = new pbx.CdrParser('27')
const cdr = parser.parseLine(LINE)
const hours = pbx.BusinessHours.weekdays('UTC')
// A sideloader on the embedded default (files only) in a scratch directory.
const scratch = mkdtempSync(join(tmpdir(), 'pbx-argtypes-'))
after(() => rmSync(scratch, { recursive: true, force: true }))
const sideloader = new pbx.Sideloader(
  pbx.Config.fromYaml(
    read('examples/config/embedded-default.yml')
      .replace('examples/data/', path('examples/data') + '/')
      .replaceAll('out/', scratch + '/'),
    {},
  ),
)
const config = pbx.Config.fromYaml(sideloaderYaml, {})
const mapper = new pbx.CallMapper()
const extensions = new pbx.ExtensionMap({ 101: 'anna@example.com' })
const monitor = new pbx.GroupMonitor(hours)
const now = new Date('2026-11-02T12:00:00Z')

// name → [the wrong call, the parameter it names]. Several rows per name are allowed
// (`name#2`): the first parameter, a later one, a missing one, a wrong class.
const WRONG = {
  'version': null,
  '_vocabulary': null,
  'normalizeNumber': [() => pbx.normalizeNumber(42), 'raw'],
  'normalizeNumber#2': [() => pbx.normalizeNumber('1', 42), 'options'],
  'normalizeNumbers': [() => pbx.normalizeNumbers('1'), 'raws'],
  'normalizeNumbersDetailed': [() => pbx.normalizeNumbersDetailed(['1'], true), 'options'],
  'normalizeNumbersAsync': [() => pbx.normalizeNumbersAsync([1]), 'raws'],
  'templateFields': [() => pbx.templateFields(27), 'template'],
  'templateFields#2': [() => pbx.templateFields(), 'template'],
  'toCallRequest': [() => pbx.toCallRequest(LINE), 'cdr'],
  'toCallRequest#2': [() => pbx.toCallRequest(cdr, 'mapper'), 'mapper'],
  'toCallRequest#3': [() => pbx.toCallRequest(cdr, extensions), 'mapper'],
  'mapLines': [() => pbx.mapLines('27', [LINE], mapper), 'parser'],
  'mapLines#2': [() => pbx.mapLines(parser, 42, mapper), 'input'],
  'mapLines#3': [() => pbx.mapLines(parser, [LINE]), 'mapper'],
  'mapLinesJson': [() => pbx.mapLinesJson(parser, [LINE], {}), 'mapper'],
  'mapLinesJson#2': [() => pbx.mapLinesJson(parser, [LINE, 42], mapper), 'input'],
  'classify': [() => pbx.classify(LINE), 'cdr'],
  'classify#2': [() => pbx.classify(cdr, 'US'), 'settings'],
  'classify#3': [() => pbx.classify(cdr, extensions), 'settings'],
  'classify#4': [() => pbx.classify(cdr, { trunkDns: '10000' }), 'settings'],
  'loadConfig': [() => pbx.loadConfig(42), 'path'],
  'loadConfig#2': [() => pbx.loadConfig('x.yml', 'vars'), 'vars'],
  'loadConfigFile': [() => pbx.loadConfigFile(), 'path'],
  'evaluateGroups': [() => pbx.evaluateGroups('hours', [], null, now), 'hours'],
  'evaluateGroups#2': [() => pbx.evaluateGroups(hours, 'groups', null, now), 'groups'],
  'evaluateGroups#3': [() => pbx.evaluateGroups(hours, [], 'state', now), 'state'],
  'evaluateGroups#4': [() => pbx.evaluateGroups(hours, [], null, now.getTime()), 'now'],
  'evaluateGroups#5': [() => pbx.evaluateGroups(hours, [], null, now, 'x'), 'options'],
  'recordAlertId': [() => pbx.recordAlertId(null, 7, 'id'), 'groupId'],
  'recordAlertId#2': [() => pbx.recordAlertId(null, 'g'), 'alertId'],
  'recordOpenedAlert': [() => pbx.recordOpenedAlert(null, 'request', {}), 'request'],
  'recordOpenedAlert#2': [() => pbx.recordOpenedAlert(null, {}, 7), 'alert'],
  'alertOpenFailed': [() => pbx.alertOpenFailed(42, 'g'), 'state'],
  'alertResolveFailed': [() => pbx.alertResolveFailed(null, 'g', 'alert'), 'alert'],
  'adoptActiveAlerts': [() => pbx.adoptActiveAlerts(null, {}, now), 'alerts'],
  'adoptActiveAlerts#2': [() => pbx.adoptActiveAlerts(null, [], '2026-11-02'), 'now'],
  'new BusinessHours': [() => new pbx.BusinessHours(42), 'constructor'],
  'BusinessHours.fromConfig': [() => pbx.BusinessHours.fromConfig('config'), 'config'],
  'BusinessHours.fromConfigGroup': [() => pbx.BusinessHours.fromConfigGroup(config, 800), 'groupId'],
  'BusinessHours.fromXapi': [() => pbx.BusinessHours.fromXapi('{}'), 'officeHours'],
  'BusinessHours.always': [() => pbx.BusinessHours.always(42), 'timezone'],
  'BusinessHours.weekdays': [() => pbx.BusinessHours.weekdays('UTC', 9), 'interval'],
  'BusinessHours.never': [() => pbx.BusinessHours.never(), 'timezone'],
  'BusinessHours#isOpen': [() => hours.isOpen(Date.now()), 'at'],
  'BusinessHours#state': [() => hours.state('now'), 'at'],
  'BusinessHours#nextChange': [() => hours.nextChange(), 'at'],
  'new CallMapper': [() => new pbx.CallMapper('anna@example.com'), 'extensions'],
  'new CallMapper#2': [() => new pbx.CallMapper(config), 'extensions'],
  'new CallMapper#3': [() => new pbx.CallMapper(null, 'America/Anchorage'), 'options'],
  'new CallMapper#4': [() => new pbx.CallMapper(null, { timezone: 42 }), 'options'],
  'new CallMapper#5': [() => new pbx.CallMapper(Object.create(pbx.ExtensionMap.prototype)), 'extensions'],
  'CallMapper.fromConfig': [() => pbx.CallMapper.fromConfig(sideloaderYaml), 'config'],
  'CallMapper#classify': [() => mapper.classify(parser), 'cdr'],
  'CallMapper#map': [() => mapper.map(LINE), 'cdr'],
  'CallMapper#explain': [() => mapper.explain(42), 'record'],
  'CallMapper#explain#2': [() => mapper.explain(LINE, 42), 'parser'],
  'CallMapper#mapLines': [() => mapper.mapLines(parser, { lines: [LINE] }), 'input'],
  'CallMapper#mapLinesJson': [() => mapper.mapLinesJson(mapper, [LINE]), 'parser'],
  'CallMapper#mapLinesAsync': [() => mapper.mapLinesAsync(parser), 'input'],
  'new Cdr': [() => new pbx.Cdr(LINE), 'constructor'],
  'Cdr#toObject': null,
  'Cdr#toJSON': null,
  'Cdr#toLine': [() => cdr.toLine(27), 'template'],
  'new CdrParser': [() => new pbx.CdrParser(27), 'template'],
  'new CdrParser#2': [() => new pbx.CdrParser('27', 'strict'), 'options'],
  'new CdrParser#3': [() => new pbx.CdrParser('27', { maxLineLength: 'big' }), 'options'],
  'CdrParser#parseLine': [() => parser.parseLine(42), 'line'],
  'CdrParser#parseLine#2': [() => parser.parseLine(LINE, '3'), 'lineNo'],
  'CdrParser#parseLine#3': [() => parser.parseLine(LINE, -1), 'lineNo'],
  'CdrParser#parseLines': [() => parser.parseLines(42), 'input'],
  'CdrParser#parseLinesAsync': [() => parser.parseLinesAsync(null), 'input'],
  'new Config': [() => new pbx.Config(sideloaderYaml), 'constructor'],
  'Config.load': [() => pbx.Config.load(42), 'path'],
  'Config.fromYaml': [() => pbx.Config.fromYaml({ timezone: 'UTC' }), 'yaml'],
  'Config.fromYaml#2': [() => pbx.Config.fromYaml(sideloaderYaml, { A: 1 }), 'vars'],
  'Config#callApiToken': null,
  'Config#xapiClientSecret': null,
  'new ExtensionMap': [() => new pbx.ExtensionMap(42), 'map'],
  'new ExtensionMap#2': [() => new pbx.ExtensionMap(null, 42), 'defaultEmail'],
  'ExtensionMap.fromConfig': [() => pbx.ExtensionMap.fromConfig(), 'config'],
  'ExtensionMap.fromYaml': [() => pbx.ExtensionMap.fromYaml(42), 'text'],
  'ExtensionMap.fromYaml#2': [() => pbx.ExtensionMap.fromYaml('{}', 42), 'key'],
  'ExtensionMap.fromYaml#3': [() => pbx.ExtensionMap.fromYaml('{}', null, 42), 'defaultEmail'],
  'ExtensionMap#set': [() => extensions.set(102, 'b@example.com'), 'extension'],
  'ExtensionMap#set#2': [() => extensions.set('102'), 'email'],
  'ExtensionMap#set#3': [() => extensions.set('102', 'b@example.com', 7), 'name'],
  'ExtensionMap#get': [() => extensions.get(101), 'extension'],
  'ExtensionMap#emailFor': [() => extensions.emailFor(101), 'extension'],
  'new GroupMonitor': [() => new pbx.GroupMonitor('hours'), 'hours'],
  'new GroupMonitor#2': [() => new pbx.GroupMonitor(hours, 2), 'options'],
  'GroupMonitor.fromConfig': [() => pbx.GroupMonitor.fromConfig(config, config), 'hours'],
  'GroupMonitor#evaluate': [() => monitor.evaluate('groups', null, now), 'groups'],
  'GroupMonitor#evaluate#2': [() => monitor.evaluate([{ id: 1 }], null, now), 'groups'],
  'GroupMonitor#evaluate#3': [() => monitor.evaluate([], null), 'now'],
  'new Sideloader': [() => new pbx.Sideloader(42), 'config'],
  'new Sideloader#2': [() => new pbx.Sideloader(hours), 'config'],
  'Sideloader#start': null,
  'Sideloader#stop': null,
  'Sideloader#runOnce': null,
  'Sideloader#backfill': [() => sideloader.backfill(20261105, '2026-11-09'), 'from'],
  'Sideloader#backfill#2': [() => sideloader.backfill('2026-11-05'), 'to'],
  'Sideloader#explain': [() => sideloader.explain(42), 'id'],
  'Sideloader#explain#2': [() => sideloader.explain(null, 'x'), 'line'],
  'Sideloader#status': null,
  'Sideloader#trigger': null,
}
// `null` rows take no argument. Classes without a constructor (`Cdr`, `Config`, `BusinessHours`
// are made by their factories) throw for `new` whatever the argument; their rows name
// `constructor` and only check that it throws.

// Every callable of the module: functions, `new Class`, static methods `Class.m`, methods
// `Class#m` and setters `Class#m=` (getters take no argument).
function callables(module) {
  const names = []
  for (const [name, value] of Object.entries(module)) {
    if (name === 'default' || name.startsWith('__')) continue // __napiBindingTarget
    if (typeof value !== 'function') continue
    if (!/^[A-Z]/.test(name)) {
      names.push(name)
      continue
    }
    names.push(`new ${name}`)
    for (const key of Object.getOwnPropertyNames(value)) {
      if (['length', 'name', 'prototype'].includes(key)) continue
      if (typeof Object.getOwnPropertyDescriptor(value, key).value === 'function') names.push(`${name}.${key}`)
    }
    for (const key of Object.getOwnPropertyNames(value.prototype)) {
      if (key === 'constructor') continue
      const d = Object.getOwnPropertyDescriptor(value.prototype, key)
      if (typeof d.value === 'function') names.push(`${name}#${key}`)
      if (d.set) names.push(`${name}#${key}=`)
    }
  }
  return names.sort()
}

test('the wrong-type table covers every function, method, constructor and setter', () => {
  const names = callables(pbx)
  assert.ok(names.length > 60, `only ${names.length} callables found`)
  const rows = new Set(Object.keys(WRONG).map((k) => k.replace(/#\d+$/, '')))
  assert.deepEqual(names.filter((n) => !rows.has(n)), [], 'callables without a wrong-type row')
  assert.deepEqual([...rows].filter((r) => !names.includes(r)), [], 'rows for names the module lacks')
})

test('every function, method and constructor: a TypeError naming the parameter', async () => {
  for (const [name, row] of Object.entries(WRONG)) {
    if (row === null) continue
    const [call, param] = row
    if (param === 'constructor') {
      assert.throws(call, Error, name)
      continue
    }
    assert.throws(call, (e) => {
      assert.ok(e instanceof TypeError, `${name}: ${e?.constructor?.name}: ${e?.message}`)
      assert.equal(e.code, 'PBX_INVALID_ARGUMENT', name)
      assert.match(e.message, new RegExp(`\\b${param} must be `), name)
      return true
    }, name)
  }
})

test('valid arguments still work after the checks', async () => {
  assert.equal(cdr.toLine('27'), cdr.toLine())
  assert.equal(parser.parseLine(LINE, 3).line, 3)
  assert.equal(parser.parseLines(Buffer.from(LINE)).length, 1)
  assert.equal((await parser.parseLinesAsync([LINE])).length, 1)
  assert.equal(pbx.mapLines(parser, LINE, config).length, 1)
  assert.equal(JSON.parse(mapper.mapLinesJson(parser, [LINE])).length, 1)
  assert.equal((await mapper.mapLinesAsync(parser, [LINE])).length, 1)
  assert.equal(pbx.classify(cdr, { trunkDns: ['10000'] }).direction, 'INBOUND')
  assert.equal(pbx.classify(cdr, config).direction, pbx.classify(cdr, pbx.CallMapper.fromConfig(config)).direction)
  assert.equal(pbx.toCallRequest(cdr, config).call?.callOwnerExtension ?? 'skipped', pbx.toCallRequest(cdr, pbx.CallMapper.fromConfig(config)).call?.callOwnerExtension ?? 'skipped')
  assert.equal(new pbx.CallMapper(extensions, { timezone: 'America/Anchorage' }).map(cdr).call.callOwnerEmail, 'anna@example.com')
  assert.equal(extensions.emailFor('101'), 'anna@example.com')
  // An instance of a JS subclass is an instance of the class.
  class Mapper extends pbx.CallMapper {}
  assert.equal(JSON.parse(pbx.mapLinesJson(parser, [LINE], new Mapper())).length, 1)
  assert.equal(hours.isOpen(now), true)
  assert.equal(pbx.GroupMonitor.fromConfig(config, hours).evaluate([], undefined, now).actions.length, 0)
  assert.ok(pbx.BusinessHours.fromConfig(config))
  // A Date whose time is NaN is the right type but an unusable value: not a TypeError.
  assert.throws(() => hours.isOpen(new Date('x')), (e) => !(e instanceof TypeError) && e.code === 'PBX_INVALID_ARGUMENT')
})
