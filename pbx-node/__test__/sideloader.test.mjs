// Sideloader: pbx-sources' runtime (the one pbx-sideloader runs) on napi's tokio runtime, on
// the embedded default of pbx-sideloader (file source, JSON-lines sink, file checkpoint, file
// quarantine), over the shared sample (its hand-derived counts are in the README). The
// PostgreSQL site-table scenario is in sideloader_pg.test.mjs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { Config, Sideloader, loadConfig } from '../index.js'
import { path, read } from './helpers.mjs'

/** The embedded default configuration with its files in a fresh directory. */
function setup(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-sideloader-'))
  copyFileSync(path('examples/data/cdr-sample.log'), join(dir, 'cdr.log'))
  const yaml = read('examples/config/embedded-default.yml')
    .replace('examples/data/cdr-sample.log', join(dir, 'cdr.log'))
    .replaceAll('out/', dir + '/')
  return { dir, config: Config.fromYaml(yaml + extra, {}), calls: () => readJsonLines(join(dir, 'calls.jsonl')) }
}

const readJsonLines = (file) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) : []

const until = async (what, ms = 10_000) => {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const throwsCode = (fn, code) => assert.throws(fn, (e) => e.code === code || assert.fail(`${e.code}: ${e.message}`))

test('runOnce drains the file: the counts of the README, then nothing new', async (t) => {
  const { dir, config, calls } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const first = await new Sideloader(config).runOnce()
  assert.equal(first.delivered, 47)
  assert.equal(first.duplicates, 0)
  assert.deepEqual(first.skipped, { internal: 9, missed_unrouted: 6, no_owner_email: 3 })
  assert.equal(first.quarantined, 0)
  assert.ok(first.checkpoint, 'a checkpoint is saved')
  assert.equal(first.sink, join(dir, 'calls.jsonl'))
  assert.equal(
    first.text,
    `47 delivered, 0 already delivered, 18 skipped (internal 9, missed_unrouted 6, no_owner_email 3), 0 quarantined; checkpoint ${first.checkpoint}; calls in ${first.sink}`,
  )
  const written = calls()
  assert.equal(written.length, 47)
  // Calls complete out of order (up to call_api.concurrency in flight): find the first one.
  assert.equal(new Set(written.map((c) => c.pbxCallId)).size, 47)
  assert.equal(
    JSON.stringify(written.find((c) => c.pbxCallId === '3cx-40001-000001A19D361A38_5204')),
    '{"phoneNumber":"+19075551234","callDuration":184,"callOwnerExtension":"101","callOwnerEmail":"anna.berg@example.com",' +
      '"callDirection":"INBOUND","timestamp":"2026-11-02T08:02:11.000-09:00","pbxCallId":"3cx-40001-000001A19D361A38_5204"}',
  )
  // A new Sideloader on the same files starts at the saved checkpoint: nothing is sent twice.
  const second = await new Sideloader(config).runOnce()
  assert.equal(second.delivered + second.received, 0)
  assert.equal(calls().length, 47)
})

test('backfill delivers the calls of its days once and leaves the live checkpoint', async (t) => {
  const { dir, config, calls } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const s = new Sideloader(config)
  // Days in pbx.timezone (AKST, UTC-9), both included.
  const report = await s.backfill('2026-11-05', '2026-11-09')
  assert.equal(report.from, '2026-11-05T09:00:00+00:00')
  assert.equal(report.to, '2026-11-10T09:00:00+00:00')
  // The file source hands on only the lines whose start is in the range (19 of the 65):
  // nothing is left for the engine to skip as outside_range.
  assert.equal(report.received, 19)
  assert.ok(report.delivered > 5, `${report.delivered}`)
  assert.equal(report.calls, report.delivered)
  assert.equal(report.skipped.outside_range ?? 0, 0)
  assert.ok(report.text.startsWith(`backfill ${report.from} to ${report.to}: ${report.delivered} delivered`), report.text)
  assert.ok(report.elapsedSecs >= 0)
  const written = calls()
  assert.equal(written.length, report.delivered)
  for (const c of written) assert.ok(c.timestamp.slice(0, 10) >= '2026-11-05' && c.timestamp.slice(0, 10) <= '2026-11-09', c.timestamp)
  // Its own checkpoint: again, nothing is read or sent twice ...
  const again = await s.backfill('2026-11-05', '2026-11-09')
  assert.deepEqual([again.received, again.delivered], [0, 0])
  // ... and the live checkpoint did not move: a drain reads every record.
  const drained = await s.runOnce()
  assert.equal(drained.received, 65)
  assert.equal(drained.delivered + drained.duplicates, 47)
})

test('a bad backfill range rejects naming the bound, and starts nothing', async (t) => {
  const { dir, config, calls } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const s = new Sideloader(config)
  for (const [from, to, setting, words] of [
    ['2026-13-01', '2026-11-09', 'from', 'is not a date (YYYY-MM-DD) or an instant'],
    ['2026-11-09', 'yesterday', 'to', 'is not a date (YYYY-MM-DD) or an instant'],
    ['2026-11-09', '2026-11-05', 'to', 'not after its start 2026-11-09T09:00:00+00:00'],
  ]) {
    await assert.rejects(s.backfill(from, to), (e) => {
      assert.equal(e.code, 'PBX_INVALID_ARGUMENT')
      assert.equal(e.kind, 'invalid_setting')
      assert.equal(e.setting, setting)
      assert.ok(e.message.includes(words), e.message)
      return true
    })
  }
  assert.equal(calls().length, 0)
  assert.equal((await s.runOnce()).delivered, 47)
})

test('start() runs the loop, picks up appended lines, stop() saves and returns', async (t) => {
  const { dir, config, calls } = setup('polling: { interval_secs: 1 }\n')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const s = new Sideloader(config)
  s.start()
  assert.equal(s.status().running, true)
  throwsCode(() => s.start(), 'PBX_INVALID_STATE')
  await assert.rejects(s.runOnce(), (e) => e.code === 'PBX_INVALID_STATE')
  await until(() => s.status().delivered === 47)
  // One more call appended to the CDR file while the loop runs.
  const line = readFileSync(join(dir, 'cdr.log'), 'utf8').split('\r\n')[0].replace('Call 40001', 'Call 49999')
  appendFileSync(join(dir, 'cdr.log'), line + '\r\n')
  await until(() => s.status().delivered === 48)
  const stopped = await s.stop()
  assert.equal(stopped.running, false)
  assert.equal(s.status().running, false)
  assert.equal(calls().at(-1).pbxCallId, '3cx-49999-000001A19D361A38_5204')
  // It can start again after a stop; stop() when not running resolves at once.
  s.start()
  assert.equal((await s.stop()).delivered, 48)
  assert.equal((await s.stop()).running, false)
})

test('start() keeps the process alive while the service runs, like server.listen, even unreferenced', async (t) => {
  const { dir } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'sideloader.yml')
  writeFileSync(file, read('examples/config/embedded-default.yml')
    .replace('examples/data/cdr-sample.log', join(dir, 'cdr.log'))
    .replaceAll('out/', dir + '/'))
  // A script that only starts the service, drops its only reference and forces a collection:
  // the service goes on delivering (the process does not exit at once, the object is kept).
  const script = `
    const { Sideloader } = require(${JSON.stringify(path('pbx-node/index.js'))})
    new Sideloader(${JSON.stringify(file)}).start()
    setTimeout(() => globalThis.gc(), 200).unref()
  `
  const child = spawn(process.execPath, ['--expose-gc', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  let exited = null
  child.on('exit', (code, signal) => { exited = { code, signal } })
  t.after(() => child.kill('SIGKILL'))
  const calls = () => readJsonLines(join(dir, 'calls.jsonl')).length
  await until(() => calls() === 47 || exited !== null, 20_000)
  assert.equal(exited, null, `the process exited (${JSON.stringify(exited)}) having delivered ${calls()} calls: ${stderr}`)
  assert.equal(calls(), 47)
  // Still serving after the collection.
  await new Promise((r) => setTimeout(r, 500))
  assert.equal(exited, null, stderr)
})

test('a configuration path: the same problems as pbx-sideloader, or a working sideloader', async (t) => {
  const { dir } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // Every problem of a bad file, with its path: the binary prints the same list (exit 2).
  const bad = join(dir, 'bad.yml')
  writeFileSync(bad, 'pbx: { timezone: Mars/Olympus }\nsource: { kind: carrier_pigeon }\ncall_api: { base_url: ftp://x }\n')
  let issues
  assert.throws(() => new Sideloader(bad), (e) => {
    assert.equal(e.code, 'PBX_CONFIG_ERROR', e.message)
    issues = e.issues
    return true
  })
  assert.ok(issues.length >= 3, JSON.stringify(issues))
  const bin = process.env.PBX_SIDELOADER_BIN
  if (bin) {
    const run = spawnSync(bin, ['--config', bad, '--once'], { encoding: 'utf8' })
    assert.equal(run.status, 2, run.stderr)
    for (const issue of issues) {
      assert.ok(run.stderr.includes(issue.path) && run.stderr.includes(issue.message), `${issue.path}: ${issue.message}\n${run.stderr}`)
    }
  }
  // A good path works like a loaded Config.
  const good = join(dir, 'good.yml')
  writeFileSync(good, read('examples/config/embedded-default.yml')
    .replace('examples/data/cdr-sample.log', join(dir, 'cdr.log'))
    .replaceAll('out/', dir + '/'))
  assert.equal((await new Sideloader(good).runOnce()).delivered, 47)
})

test('a sink that cannot be opened throws the message pbx-sideloader prints', (t) => {
  // Runtime state, not configuration: the binary exits 1 (not 2) with the same line.
  const { dir } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'a-file'), '')
  const yaml = read('examples/config/embedded-default.yml').replace('file:out/calls.jsonl', `file:${dir}/a-file/calls.jsonl`)
  assert.throws(() => new Sideloader(Config.fromYaml(yaml, {})), (e) => {
    assert.equal(e.code, 'PBX_SYNC_ERROR', e.message)
    assert.equal(e.kind, 'failed')
    assert.match(e.message, new RegExp(`^cannot open the call file ${dir}/a-file/calls.jsonl: `))
    return true
  })
})

test('a corrupt checkpoint stops the run with PBX_SYNC_ERROR and is left alone', async (t) => {
  const { dir, config, calls } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'checkpoint.json'), '{ not json')
  await assert.rejects(new Sideloader(config).runOnce(), (e) => {
    assert.equal(e.code, 'PBX_SYNC_ERROR', e.message)
    assert.equal(e.kind, 'checkpoint')
    assert.match(e.message, /corrupt/)
    return true
  })
  assert.equal(readFileSync(join(dir, 'checkpoint.json'), 'utf8'), '{ not json')
  assert.equal(calls().length, 0)
})

test('after a failed runOnce or start, stop() then runOnce() works on the same object', async (t) => {
  const { dir, config, calls } = setup()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const checkpoint = join(dir, 'checkpoint.json')
  writeFileSync(checkpoint, '{ not json')
  const s = new Sideloader(config)
  await assert.rejects(s.runOnce(), (e) => e.kind === 'checkpoint' || assert.fail(e.message))
  await s.stop()
  // The service fails the same way; its task ends, stop() reports the error and frees the object.
  s.start()
  await until(() => !s.status().running)
  await assert.rejects(s.stop(), (e) => e.kind === 'checkpoint' || assert.fail(e.message))
  assert.equal((await s.stop()).running, false)
  rmSync(checkpoint)
  const summary = await s.runOnce()
  assert.ok(summary.delivered > 0, JSON.stringify(summary))
  assert.equal(calls().length, summary.delivered)
})
