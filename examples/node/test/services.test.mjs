// The example services against an in-process call-logger API (node:http) over the shared
// sample data: the poller (pbx-node's Sideloader) posts every call once — the same calls the
// JSON-lines sink writes —, 409 counts as already delivered, a 503 is retried, 401 rejects.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config, loadConfig } from 'pbx-node'
import { CdrPoller } from '../dist/services/cdr-poller.js'
import { ExtensionMapper } from '../dist/services/extension-mapper.js'
import { BusinessHoursService } from '../dist/services/business-hours.js'
import { CallGroupMonitor } from '../dist/services/call-group-monitor.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const samplePath = root + 'examples/data/cdr-sample.log'
const config = loadConfig(root + 'examples/config/sideloader.yml', {})
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

/** The embedded default on the sample, its files in a fresh directory, calls to `baseUrl`. */
function setup(baseUrl) {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-poller-'))
  const yaml = readFileSync(root + 'examples/config/embedded-default.yml', 'utf8')
    .replace('examples/data/cdr-sample.log', samplePath)
    .replace('file:out/calls.jsonl', baseUrl)
    .replaceAll('out/', dir + '/')
  return { dir, config: Config.fromYaml(yaml + 'polling: { interval_secs: 1 }\n', {}) }
}

/** The calls the same configuration writes to a JSON-lines file instead of the API. */
async function expectedCalls() {
  const { dir, config } = setup('file:' + tmpdir() + `/pbx-poller-expected-${process.pid}.jsonl`)
  try {
    rmSync(tmpdir() + `/pbx-poller-expected-${process.pid}.jsonl`, { force: true })
    await new CdrPoller(config).poll()
    return readFileSync(tmpdir() + `/pbx-poller-expected-${process.pid}.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('the poller (pbx-node Sideloader) posts every call once, as the file sink writes them', async (t) => {
  const server = await api()
  const { dir, config } = setup(server.baseUrl)
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }) })
  const p = new CdrPoller(config)
  const summary = await p.poll()
  const want = await expectedCalls()
  assert.equal(want.length, 47)
  // Delivered concurrently (call_api.concurrency): the same calls, in any order.
  const byId = (a, b) => a.pbxCallId.localeCompare(b.pbxCallId)
  assert.deepEqual(server.posts.map((p) => p.call).sort(byId), want.sort(byId))
  assert.equal(summary.delivered, 47)
  assert.match(summary.text, /^47 delivered, 0 already delivered, 18 skipped/)
  assert.equal((await p.poll()).delivered, 0) // nothing new
  assert.equal(server.posts.length, 47)
})

test('backfill posts the calls of its days once, beside the poller', async (t) => {
  const server = await api((call) => (server.posts.filter((p) => p.call.pbxCallId === call.pbxCallId).length > 1 ? 409 : 201))
  const { dir, config } = setup(server.baseUrl)
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }) })
  const p = new CdrPoller(config)
  const report = await p.backfill('2026-11-05', '2026-11-09')
  assert.equal(report.from, '2026-11-05T09:00:00+00:00')
  assert.ok(report.delivered > 5 && report.delivered < 47, `${report.delivered}`)
  assert.equal(server.posts.length, report.delivered)
  for (const { call } of server.posts) assert.ok(call.timestamp >= '2026-11-05' && call.timestamp < '2026-11-10', call.timestamp)
  // The poller's own checkpoint did not move: it posts every call, the backfilled ones are 409.
  const summary = await p.poll()
  assert.equal(summary.delivered + summary.duplicates, 47)
  assert.equal(summary.duplicates, report.delivered)
})

test('409 is already delivered; a 503 is retried and the call is not lost', async (t) => {
  const server = await api((call, n) => (n === 1 ? 409 : n === 3 ? 503 : 201))
  const { dir, config } = setup(server.baseUrl)
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }) })
  const summary = await new CdrPoller(config).poll()
  assert.equal(summary.duplicates, 1)
  assert.equal(summary.delivered, 46)
  const ids = new Set(server.posts.map((p) => p.call.pbxCallId))
  assert.equal(ids.size, 47)
})

test('401 rejects the poll: never a success with calls left behind', async (t) => {
  const server = await api(() => 401)
  const { dir, config } = setup(server.baseUrl)
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }) })
  await assert.rejects(new CdrPoller(config).poll(), (e) => e.code === 'PBX_SYNC_ERROR' && e.kind === 'auth_failed')
})

test('start() polls on its own; stop() saves the checkpoint', async (t) => {
  const server = await api()
  const { dir, config } = setup(server.baseUrl)
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }) })
  const p = CdrPoller.fromConfig(config)
  p.start()
  while (p.status().delivered < 47) await new Promise((r) => setTimeout(r, 10))
  const stopped = await p.stop()
  assert.equal(stopped.running, false)
  assert.ok(stopped.checkpoint)
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
