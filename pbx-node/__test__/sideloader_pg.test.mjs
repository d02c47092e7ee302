// The PostgreSQL site-table scenario every host runs (the binary and the Rust API in
// examples/tests/runtime.rs, Python in pbx-py/tests/test_sideloader.py): 2 345 rows to a local
// call API double that records pbxCallIds — every call delivered exactly once, a second drain
// delivers nothing, the summary is pbx-sideloader's line; stop() during delivery saves the
// checkpoint and the next drain resumes. Needs PBX_TEST_PG_URL (scripts/pg.sh) and psql;
// skipped without it, failed without it under CI=true.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config, Sideloader } from '../index.js'

const url = process.env.PBX_TEST_PG_URL
if (!url && process.env.CI === 'true') throw new Error('PBX_TEST_PG_URL is not set under CI=true: run through scripts/test.sh')
const skip = url ? false : 'PBX_TEST_PG_URL not set (run through scripts/pg.sh)'
const ROWS = 2345

const psql = (sql) =>
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-t', '-A', '-c', sql], {
    encoding: 'utf8',
    env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' },
  }).trim()

/** The site table of examples/tests/common: ROWS outbound calls, historyid = id. */
function siteTable(schema) {
  psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.cdr (
      id bigserial PRIMARY KEY, history_id text, duration integer,
      time_start timestamptz, time_answered timestamptz, time_end timestamptz,
      reason text, from_no text, to_no text, from_dn text, to_dn text,
      final_number text, final_dn text, from_type text, to_type text, final_type text);
    INSERT INTO ${schema}.cdr (history_id, duration, time_start, time_answered, time_end,
      reason, from_no, to_no, from_dn, to_dn, final_number, final_dn, from_type, to_type, final_type)
    SELECT g::text, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
      'Ext.101', '+1907555' || lpad((g % 10000)::text, 4, '0'), '101', '10000',
      '+1907555' || lpad((g % 10000)::text, 4, '0'), '10000', 'Extension', 'Line', 'Line'
    FROM generate_series(1, ${ROWS}) g,
      LATERAL (SELECT timestamptz '2026-11-02 18:00:00+00' + g * interval '1 s' AS t) x;`)
}

const columns = ['id: id', 'historyid: history_id', 'duration: duration', 'time-start: time_start',
  'time-answered: time_answered', 'time-end: time_end', 'reason-terminated: reason', 'from-no: from_no',
  'to-no: to_no', 'from-dn: from_dn', 'to-dn: to_dn', 'final-number: final_number', 'final-dn: final_dn',
  'from-type: from_type', 'to-type: to_type', 'final-type: final_type']

const configYaml = (dir, schema, baseUrl) =>
  `pbx: {timezone: America/Anchorage}
source:
  kind: postgres_table
  url: '${url}'
  table: ${schema}.cdr
  columns:
${columns.map((c) => '    ' + c).join('\n')}
call_api: {base_url: '${baseUrl}', timeout_secs: 5, concurrency: 16}
extensions: {default_email: 'pbx@example.com'}
polling: {interval_secs: 1, batch_size: 500}
checkpoint: {kind: postgres, url: '${url}', table: ${schema}.pbx_checkpoint}
quarantine: {path: '${dir}/quarantine.jsonl'}
logging: {level: error}
`

/** The call API double: 201 for a new pbxCallId, 409 for one it has; `delayMs` per answer. */
async function callApi(delayMs = 0) {
  const stored = new Map()
  let posts = 0
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const answer = () => {
        posts++
        const id = JSON.parse(body).pbxCallId
        const known = stored.has(id)
        stored.set(id, (stored.get(id) ?? 0) + (known ? 1 : 0))
        res.writeHead(known ? 409 : 201, { 'content-type': 'application/json' }).end('{}')
      }
      delayMs ? setTimeout(answer, delayMs) : answer()
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    ids: () => [...stored.keys()].map((id) => Number(id.split('-').at(-1))).sort((a, b) => a - b),
    posts: () => posts,
    close: () => new Promise((r) => server.close(r)),
  }
}

const range = (n) => Array.from({ length: n }, (_, i) => i + 1)

test('a site table: every call once, a second drain nothing, the binary\'s summary', { skip }, async (t) => {
  const schema = `node_once_${process.pid}`
  const dir = mkdtempSync(join(tmpdir(), 'pbx-node-pg-'))
  siteTable(schema)
  const api = await callApi()
  t.after(async () => {
    await api.close()
    psql(`DROP SCHEMA ${schema} CASCADE`)
    rmSync(dir, { recursive: true, force: true })
  })
  const config = Config.fromYaml(configYaml(dir, schema, api.baseUrl), {})
  const first = await new Sideloader(config).runOnce()
  assert.equal(first.text, `${ROWS} delivered, 0 already delivered, 0 skipped (none), 0 quarantined; checkpoint ${ROWS}; calls in ${api.baseUrl}`)
  assert.deepEqual(api.ids(), range(ROWS))
  assert.equal(api.posts(), ROWS, 'a call was posted twice')
  const second = await new Sideloader(config).runOnce()
  assert.equal(second.text, `0 delivered, 0 already delivered, 0 skipped (none), 0 quarantined; checkpoint ${ROWS}; calls in ${api.baseUrl}`)
  assert.equal(api.posts(), ROWS)
})

test('stop() during delivery saves the checkpoint; the next drain delivers the rest', { skip }, async (t) => {
  const schema = `node_stop_${process.pid}`
  const dir = mkdtempSync(join(tmpdir(), 'pbx-node-pg-'))
  siteTable(schema)
  const api = await callApi(5)
  t.after(async () => {
    await api.close()
    psql(`DROP SCHEMA ${schema} CASCADE`)
    rmSync(dir, { recursive: true, force: true })
  })
  const config = Config.fromYaml(configYaml(dir, schema, api.baseUrl), {})
  const s = new Sideloader(config)
  s.start()
  while (s.status().delivered < 200) await new Promise((r) => setTimeout(r, 10))
  const stopped = await s.stop()
  assert.ok(stopped.delivered < ROWS, 'stopped too late to test anything')
  const saved = Number(psql(`SELECT checkpoint FROM ${schema}.pbx_checkpoint WHERE source = 'cdr'`))
  assert.equal(saved, stopped.delivered)
  assert.equal(stopped.checkpoint, String(saved))
  assert.deepEqual(api.ids(), range(saved))
  const rest = await new Sideloader(config).runOnce()
  assert.equal(rest.delivered, ROWS - saved)
  assert.deepEqual(api.ids(), range(ROWS))
  assert.equal(api.posts(), ROWS)
})

test('runOnce rejects when the call API refuses the credentials', { skip }, async (t) => {
  const schema = `node_auth_${process.pid}`
  const dir = mkdtempSync(join(tmpdir(), 'pbx-node-pg-'))
  siteTable(schema)
  const server = createServer((req, res) => req.resume().on('end', () => res.writeHead(401).end()))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  t.after(async () => {
    await new Promise((r) => server.close(r))
    psql(`DROP SCHEMA ${schema} CASCADE`)
    rmSync(dir, { recursive: true, force: true })
  })
  const config = Config.fromYaml(configYaml(dir, schema, `http://127.0.0.1:${server.address().port}`), {})
  await assert.rejects(new Sideloader(config).runOnce(), (e) => {
    assert.equal(e.code, 'PBX_SYNC_ERROR', e.message)
    assert.equal(e.kind, 'auth_failed')
    return true
  })
})
