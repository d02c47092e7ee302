// The binding agrees with the shared test vectors: every line of cdr-sample.log has the
// direction, owner, counterpart and talk seconds of cdr-sample.expected.tsv, and mapping the
// sample gives what pbx-convert (the Rust CLI over the same core) prints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { CdrParser, CallMapper, ExtensionMap, classify, loadConfig, mapLines, mapLinesJson, toCallRequest, templateFields } from '../index.js'
import { sampleLog, expectedRows, extensionsYaml, path } from './helpers.mjs'

test('every sample line matches its expected row', () => {
  const parser = new CdrParser('27')
  const parsed = parser.parseLines(sampleLog)
  assert.equal(parsed.length, 65)
  assert.equal(parsed.length, expectedRows.length)
  parsed.forEach((p, i) => {
    const row = expectedRows[i]
    assert.equal(p.line, row.line)
    assert.equal(p.error, undefined, `line ${p.line}: ${p.error?.message}`)
    const c = classify(p.cdr)
    const got = [c.direction, c.owner ?? '', c.counterpart ?? '', p.cdr.talkSeconds]
    assert.deepEqual(got, [row.direction, row.owner, row.counterpart, row.talkSeconds], `line ${p.line}: ${c.explanation}`)
  })
})

test('parseLines takes a string, a Buffer or an array of lines, with the same result', () => {
  const parser = new CdrParser()
  const fromText = parser.parseLines(sampleLog).map((p) => p.cdr.toObject())
  const fromBuffer = parser.parseLines(Buffer.from(sampleLog)).map((p) => p.cdr.toObject())
  const lines = sampleLog.split(/\r?\n/).filter((l) => l !== '')
  const fromArray = parser.parseLines(lines).map((p) => p.cdr.toObject())
  assert.deepEqual(fromBuffer, fromText)
  assert.deepEqual(fromArray, fromText)
})

test('parseLines: a byte-order mark starting the text is not part of the first record, as in Python', () => {
  const parser = new CdrParser()
  const plain = parser.parseLines(sampleLog).map((p) => p.cdr.toObject())
  const marked = parser.parseLines('\ufeff' + sampleLog).map((p) => p.cdr.toObject())
  assert.equal(marked[0].historyId, '40001')
  assert.deepEqual(marked, plain)
  const fromBuffer = parser.parseLines(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(sampleLog)]))
  assert.deepEqual(fromBuffer.map((p) => p.cdr.toObject()), plain)
})

test('parseLine, the Cdr getters and toLine round trip', () => {
  const parser = new CdrParser()
  const first = sampleLog.split('\r\n')[0]
  const cdr = parser.parseLine(first, 1)
  assert.equal(cdr.historyId, '40001')
  assert.equal(cdr.callId, '000001A19D361A38_5204')
  assert.equal(cdr.talkSeconds, 184)
  assert.equal(cdr.answered, true)
  assert.deepEqual(cdr.timeStart, new Date('2026-11-02T17:02:11Z'))
  const o = cdr.toObject()
  assert.equal(o.fromNo, '9075551234')
  assert.equal(o.toNo, 'Ext.101')
  assert.equal(o.fromType, 'Line')
  assert.deepEqual(o.chain, ['9075551234', 'Ext.101'])
  assert.deepEqual(JSON.parse(JSON.stringify(cdr)).historyId, '40001')
  const again = parser.parseLine(cdr.toLine('27'))
  assert.deepEqual(again.toObject(), o)
  assert.deepEqual(parser.fields, templateFields('27'))
})

test('toCallRequest gives exactly the PbxCallRequest JSON', () => {
  const parser = new CdrParser()
  const cdr = parser.parseLine(sampleLog.split('\r\n')[0])
  const mapper = new CallMapper(new ExtensionMap(extensionsYaml), { timezone: 'America/Anchorage' })
  const { call, skipped } = toCallRequest(cdr, mapper)
  assert.equal(skipped, undefined)
  assert.equal(
    JSON.stringify(call),
    '{"phoneNumber":"+19075551234","callDuration":184,"callOwnerExtension":"101",' +
      '"callOwnerEmail":"anna.berg@example.com","callDirection":"INBOUND",' +
      '"timestamp":"2026-11-02T08:02:11.000-09:00","pbxCallId":"3cx-40001-000001A19D361A38_5204"}',
  )
  // Without a mapper nobody has an email: skipped, with the reason.
  const bare = toCallRequest(cdr)
  assert.equal(bare.call, undefined)
  assert.equal(bare.skipped.reason, 'NO_OWNER_EMAIL')
  assert.equal(bare.skipped.extension, '101')
})

test('mapLines: one outcome per line, each a call or a skip with its reason', () => {
  const parser = new CdrParser()
  const mapper = new CallMapper(new ExtensionMap(extensionsYaml), { timezone: 'America/Anchorage' })
  const out = mapper.mapLines(parser, sampleLog)
  assert.equal(out.length, 65)
  for (const o of out) {
    assert.equal([o.call, o.skipped, o.error].filter((x) => x !== undefined).length, 1, `line ${o.line}`)
  }
  const internal = out.filter((o) => o.skipped?.reason === 'INTERNAL').length
  assert.equal(internal, expectedRows.filter((r) => r.direction === 'INTERNAL').length)
  assert.ok(out.some((o) => o.skipped?.reason === 'NO_OWNER_EMAIL' && o.skipped.extension === '112'))
})

// scripts/test.sh runs pbx-convert over the sample first and passes its output here.
const convertOutput = process.env.PBX_CONVERT_OUTPUT
test('mapLines agrees with pbx-convert line by line', { skip: !convertOutput && 'PBX_CONVERT_OUTPUT not set' }, () => {
  const want = readFileSync(convertOutput, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  const parser = new CdrParser()
  const mapper = new CallMapper(new ExtensionMap(extensionsYaml), { timezone: 'America/Anchorage' })
  const got = mapper.mapLines(parser, sampleLog).map((o) => {
    if (o.call) return { line: o.line, call: o.call }
    if (o.skipped) return { line: o.line, skipped: o.skipped.message }
    return { line: o.line, error: { field: o.error.field ?? null, value: o.error.value ?? null, message: o.error.message } }
  })
  assert.deepEqual(got, want)
})

test('mapLinesJson is mapLines as one JSON array (the objects pbx-convert prints)', () => {
  const parser = new CdrParser()
  const mapper = new CallMapper(new ExtensionMap(extensionsYaml), { timezone: 'America/Anchorage' })
  const text = mapper.mapLinesJson(parser, sampleLog)
  assert.equal(typeof text, 'string')
  const got = JSON.parse(text)
  const want = mapper.mapLines(parser, sampleLog).map((o) => {
    if (o.call) return { line: o.line, call: o.call }
    if (o.skipped) return { line: o.line, skipped: o.skipped.message }
    return { line: o.line, error: { field: o.error.field ?? null, value: o.error.value ?? null, message: o.error.message } }
  })
  assert.deepEqual(got, want)
  for (const o of got) if (o.call) assert.deepEqual(Object.keys(o.call), Object.keys(want.find((w) => w.line === o.line).call))
  const lines = sampleLog.toString().split('\n').filter((l) => l.trim())
  const strip = (outcomes) => outcomes.map(({ line, ...rest }) => rest)
  assert.deepEqual(strip(JSON.parse(mapper.mapLinesJson(parser, lines))), strip(got))
  assert.equal(mapLinesJson(parser, sampleLog, mapper), text)
  assert.deepEqual(JSON.parse(mapLinesJson(parser, [], mapper)), [])
})

test('the async batch variants give the sync results', async () => {
  const parser = new CdrParser()
  const mapper = new CallMapper(new ExtensionMap(extensionsYaml), { timezone: 'America/Anchorage' })
  const sync = parser.parseLines(sampleLog).map((p) => p.cdr.toObject())
  const asyncParsed = (await parser.parseLinesAsync(sampleLog)).map((p) => p.cdr.toObject())
  assert.deepEqual(asyncParsed, sync)
  assert.deepEqual(await mapper.mapLinesAsync(parser, sampleLog), mapper.mapLines(parser, sampleLog))
})

test('a bad line in a batch is an entry with its error; the others parse', () => {
  const parser = new CdrParser('historyid,duration')
  const out = parser.parseLines('Call 1,00:00:05\r\nCall 2,bad\r\n\r\nCall 3,\r\n')
  assert.deepEqual(out.map((o) => o.line), [1, 2, 4])
  assert.ok(out[0].cdr)
  assert.equal(out[1].error.code, 'PBX_PARSE_ERROR')
  assert.equal(out[1].error.kind, 'invalid_value')
  assert.equal(out[1].error.line, 2)
  assert.equal(out[1].error.field, 'duration')
  assert.equal(out[1].error.value, 'bad')
  assert.ok(out[2].cdr)
})

test('classify with a policy and a mapper from options', () => {
  const parser = new CdrParser('historyid,time-start,from-no,to-no,from-dn,to-dn')
  const cdr = parser.parseLine('Call 9,2026/11/02 17:00:00,101,9075551234,101,10000')
  assert.equal(classify(cdr).direction, 'OUTBOUND')
  const c = classify(cdr, { trunkDns: ['10000'] })
  assert.equal(c.direction, 'OUTBOUND')
  assert.equal(c.rule, 'TO_TRUNK_DN')
  assert.equal(c.owner, '101')
  const mapper = new CallMapper(new ExtensionMap({ 101: { email: 'a@example.com', name: 'A' } }), {
    internalCalls: 'as_outbound',
    callIdPrefix: 'pbx',
    direction: { trunkDns: ['10000'] },
  })
  assert.equal(mapper.classify(cdr).rule, 'TO_TRUNK_DN')
  assert.equal(mapper.map(cdr).call.pbxCallId, 'pbx-9')
})

test('the names the Python binding has: mapLines(parser, input, mapper), classify/toCallRequest with a mapper or a Config', () => {
  const parser = new CdrParser()
  const mapper = new CallMapper(new ExtensionMap(extensionsYaml), { timezone: 'America/Anchorage' })
  assert.deepEqual(mapLines(parser, sampleLog, mapper), mapper.mapLines(parser, sampleLog))
  const config = loadConfig(path('examples/config/sideloader.yml'), {})
  const fromConfig = CallMapper.fromConfig(config)
  assert.deepEqual(mapLines(parser, sampleLog, config), fromConfig.mapLines(parser, sampleLog))
  const cdr = parser.parseLine(sampleLog.split('\r\n')[0])
  assert.deepEqual(toCallRequest(cdr, config), fromConfig.map(cdr))
  assert.deepEqual(classify(cdr, config), fromConfig.classify(cdr))
  assert.deepEqual(classify(cdr, mapper), mapper.classify(cdr))
  assert.equal(cdr.isAnswered, true)
  // 'as_outbound' (pbx-core's code, the YAML's and Python's spelling); the former Node spelling 'asOutbound' still works.
  const internal = parser.parseLines(sampleLog)[3].cdr
  const a = new CallMapper(new ExtensionMap(extensionsYaml), { internalCalls: 'as_outbound' }).map(internal)
  const b = new CallMapper(new ExtensionMap(extensionsYaml), { internalCalls: 'asOutbound' }).map(internal)
  assert.equal(a.call.callDirection, 'OUTBOUND')
  assert.deepEqual(a, b)
})
