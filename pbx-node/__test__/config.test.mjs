// Config.fromYaml / loadConfig on the commented example configuration, and what the other classes take from it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BusinessHours, CallMapper, CdrParser, ExtensionMap, GroupMonitor, Config, loadConfig, loadConfigFile } from '../index.js'
import { path, sideloaderYaml, read } from './helpers.mjs'

test('the example sideloader.yml loads', () => {
  const config = Config.fromYaml(sideloaderYaml, {})
  assert.equal(config.timezone, 'America/Anchorage')
  assert.equal(config.cdrTemplate.length, 27)
  assert.equal(config.sourceKind, 'postgres_table')
  assert.equal(config.callApi.baseUrl, 'http://localhost:8080')
  assert.equal(config.callApi.concurrency, 4)
  assert.equal(config.callApi.hasToken, false)
  assert.deepEqual(config.direction.trunkDns, ['10000'])
  assert.deepEqual(config.direction.extensionRanges, [{ from: 100, to: 199 }])
  assert.equal(config.internalCalls, 'skip')
  assert.equal(config.defaultRegion, 'US')
  assert.equal(config.businessHoursSource, 'schedule')
  assert.equal(config.groups.enabled, true)
  assert.deepEqual(config.groups.exclude, ['900'])
  assert.deepEqual(config.groups.groupsWithOwnHours, ['800'])
  assert.equal(config.pollIntervalSecs, 30)
  assert.equal(config.batchSize, 500)
  assert.equal(config.httpListen, '127.0.0.1:8081')
  assert.equal(config.xapi.clientId, 'sideloader')
})

test('variables come from the given map (or the process environment)', () => {
  const config = Config.fromYaml(sideloaderYaml, { CALL_API_URL: 'https://calls.example.com', CALL_API_TOKEN: 's3cret' })
  assert.equal(config.callApi.baseUrl, 'https://calls.example.com')
  assert.equal(config.callApi.hasToken, true)
  assert.equal(config.callApiToken(), 's3cret')
  assert.ok(!JSON.stringify(config.callApi).includes('s3cret'))
  process.env.CALL_API_URL = 'https://env.example.com'
  try {
    assert.equal(Config.fromYaml(sideloaderYaml).callApi.baseUrl, 'https://env.example.com')
  } finally {
    delete process.env.CALL_API_URL
  }
  // loadConfig(path) = Config.load(path) (Python: load_config / Config.load); loadConfigFile is its former name.
  for (const load of [loadConfig, (p, v) => Config.load(p, v), loadConfigFile]) {
    assert.equal(load(path('examples/config/sideloader.yml'), {}).timezone, 'America/Anchorage')
  }
})

test('the old sideloader configuration shape loads too', () => {
  const config = loadConfig(path('examples/config/legacy-sideloader.yml'), {})
  assert.equal(ExtensionMap.fromConfig(config).emailFor('101'), 'john.doe@example.com')
  assert.ok(BusinessHours.fromConfig(config))
})

test('ExtensionMap, CallMapper, BusinessHours and GroupMonitor from a config', () => {
  const config = Config.fromYaml(sideloaderYaml, {})
  const ext = ExtensionMap.fromConfig(config)
  assert.equal(ext.size, 2)
  assert.deepEqual(ext.get('101'), { extension: '101', email: 'anna.berg@example.com', name: 'Anna Berg' })
  assert.equal(ext.emailFor('102'), 'bob.smith@example.com')
  assert.equal(ext.get('103'), null)
  const mapper = CallMapper.fromConfig(config)
  const parser = new CdrParser(config.cdrTemplate.join(','))
  const line = read('examples/data/cdr-sample.log').split('\r\n')[0]
  assert.equal(mapper.map(parser.parseLine(line)).call.timestamp, '2026-11-02T08:02:11.000-09:00')
  const hours = BusinessHours.fromConfig(config)
  assert.equal(hours.timezone, 'America/Anchorage')
  const queueHours = BusinessHours.fromConfigGroup(config, '800')
  assert.ok(queueHours)
  assert.equal(BusinessHours.fromConfigGroup(config, '700'), null)
  assert.ok(GroupMonitor.fromConfig(config, hours))
})
