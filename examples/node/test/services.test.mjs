// The example services against an in-process call-logger API (node:http) over the shared
// sample data: every call pbx-node maps is posted once, the checkpoint moves only past final
// outcomes, 409 counts as delivered, 5xx stops the round without losing the call.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CallMapper, CdrParser, ExtensionMap, loadConfig } from 'pbx-node'
import { CdrPoller } from '../dist/services/cdr-poller.js'
import { ExtensionMapper } from '../dist/services/extension-mapper.js'
import { BusinessHoursService } from '../dist/services/business-hours.js'
import { CallGroupMonitor } from '../dist/services/call-group-monitor.js'
import { FileCdrSource, MemoryCheckpoint } from '../dist/file-source.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const samplePath = root + 'examples/data/cdr-sample.log'
const config = loadConfig(root + 'examples/config/sideloader.yml', {})
const extensions = {
  101: 'anna.berg@example.com', 102: 'bob.smith@example.com', 103: 'carla.nguyen@example.com',
  104: 'david.kowalski@example.com', 105: 'erin.walsh@example.com', 106: 'frank.ahmaogak@example.com',
  107: 'grace.kim@example.com', 108: 'jose.pena@example.com', 109: 'hannah.olsen@example.com',
  110: 'ivan.petrov@example.com', 111: 'julia.martin@example.com',
}

/** A call-logger API: `respond(body, n)` picks the status of the n-th POST. */
async function api(respond = () => 201) {
  const posts = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const call = JSON.parse(body)
      posts.push({ call, auth: req.headers.authorization })
      res.writeHead(respond(call, posts.length)).end('{}')
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  return { posts, baseUrl: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) }
}

function poller(baseUrl, checkpoint, extra = {}) {
  const mapper = new CallMapper(new ExtensionMap(extensions), { timezone: 'America/Anchorage' })
  return new CdrPoller(mapper, '27', new FileCdrSource(samplePath), checkpoint, { baseUrl, batchSize: 20, ...extra })
}

test('the poller posts exactly the calls pbx-node maps, once each', async () => {
  const server = await api()
  try {
    const checkpoint = new MemoryCheckpoint()
    const p = poller(server.baseUrl, checkpoint, { token: 't0k' })
    await p.poll()
    const mapper = new CallMapper(new ExtensionMap(extensions), { timezone: 'America/Anchorage' })
    const want = mapper.mapLines(new CdrParser('27'), readFileSync(samplePath)).flatMap((o) => (o.call ? [o.call] : []))
    assert.deepEqual(server.posts.map((p) => p.call), want)
    assert.ok(server.posts.every((p) => p.auth === 'Bearer t0k'))
    const s = p.status()
    assert.equal(s.delivered, want.length)
    assert.equal(s.delivered + s.skipped, 65)
    assert.equal(checkpoint.position, '65')
    await p.poll() // nothing new
    assert.equal(server.posts.length, want.length)
  } finally {
    await server.close()
  }
})

test('409 is already delivered; 5xx stops the round and the call is sent again next round', async () => {
  let failing = true
  const server = await api((call, n) => (n === 1 ? 409 : failing && n === 3 ? 503 : 201))
  try {
    const checkpoint = new MemoryCheckpoint()
    const p = poller(server.baseUrl, checkpoint)
    await p.poll()
    assert.equal(p.status().duplicates, 1)
    assert.equal(p.status().lastError, 'HTTP 503')
    const failed = server.posts[2].call.pbxCallId
    const stoppedAt = checkpoint.position
    failing = false
    await p.poll()
    assert.equal(server.posts[3].call.pbxCallId, failed)
    assert.notEqual(checkpoint.position, stoppedAt)
    assert.equal(checkpoint.position, '65')
  } finally {
    await server.close()
  }
})

test('400 is final: the call is quarantined with the reason and the round goes on', async () => {
  const server = await api((call, n) => (n === 2 ? 400 : 201))
  try {
    const quarantined = []
    const p = poller(server.baseUrl, new MemoryCheckpoint(), { quarantine: (q) => quarantined.push(q) })
    await p.poll()
    assert.equal(quarantined.length, 1)
    assert.match(quarantined[0].reason, /^HTTP 400/)
    assert.equal(quarantined[0].call.pbxCallId, server.posts[1].call.pbxCallId)
    assert.equal(p.status().delivered, server.posts.length - 1)
  } finally {
    await server.close()
  }
})

test('start() polls on a timer; stop() waits for the poll in progress', async () => {
  const server = await api()
  try {
    const checkpoint = new MemoryCheckpoint()
    const p = poller(server.baseUrl, checkpoint, { intervalMs: 10 })
    p.start()
    while (checkpoint.position !== '65') await new Promise((r) => setTimeout(r, 5))
    await p.stop()
    assert.equal(p.status().running, false)
  } finally {
    await server.close()
  }
})

test('CdrPoller.fromConfig takes template, timezone, direction policy and API from the config', () => {
  const p = CdrPoller.fromConfig(config, ExtensionMapper.fromConfig(config), new FileCdrSource(samplePath), new MemoryCheckpoint())
  assert.equal(p.status().running, false)
})

test('extension-mapper', () => {
  const m = ExtensionMapper.fromConfig(config)
  assert.equal(m.getEmail('101'), 'anna.berg@example.com')
  assert.equal(m.getUser('101').name, 'Anna Berg')
  assert.equal(m.getEmail('555'), null)
  assert.equal(ExtensionMapper.fromObject({ 101: 'a@example.com' }, 'pbx@example.com').getEmail('555'), 'pbx@example.com')
})

test('business-hours', () => {
  const svc = BusinessHoursService.fromConfig(config, undefined, () => new Date('2026-11-23T18:30:00Z'))
  assert.equal(svc.isBusinessHours(), true)
  assert.equal(svc.isBusinessHours(new Date('2026-11-23T03:00:00Z')), false)
  assert.deepEqual(svc.status(), {
    open: true, reason: 'interval', timezone: 'America/Anchorage', nextChange: '2026-11-23T21:00:00.000Z',
  })
})

test('call-group-monitor posts an alert after the debounce and resolves it when staffed', async () => {
  const calls = []
  const api = {
    open: async (r) => (calls.push(['open', r.callGroupId, r.alertType]), '17'),
    resolve: async (g, id) => void calls.push(['resolve', g, id]),
  }
  const hours = BusinessHoursService.fromConfig(config).businessHours
  const monitor = CallGroupMonitor.fromConfig(config, hours, api)
  const monday = new Date('2026-11-23T18:30:00Z')
  const empty = [{ id: '700', name: 'Sales Team', kind: 'ringGroup', members: [] }]
  await monitor.check(empty, monday)
  await monitor.check(empty, monday)
  await monitor.check([{ ...empty[0], members: [{ extension: '101', available: true }] }], monday)
  assert.deepEqual(calls, [['open', '700', 'NO_ASSIGNED_USERS'], ['resolve', '700', '17']])
})
