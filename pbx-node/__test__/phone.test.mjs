// normalizeNumber / normalizeNumbers (one crossing per batch) / normalizeNumbersAsync.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeNumber, normalizeNumbers, normalizeNumbersAsync } from '../index.js'

const inputs = ['(907) 555-1234', '011 44 20 7946 0018', 'Ext.101', 'anonymous', '', 'EndCall', '907-555-1234 ext. 12', '12']

test('normalizeNumber', () => {
  assert.deepEqual(normalizeNumber('(907) 555-1234'), { kind: 'e164', value: '+19075551234' })
  assert.deepEqual(normalizeNumber('Ext.101'), { kind: 'internal', value: '101' })
  assert.deepEqual(normalizeNumber('anonymous'), { kind: 'anonymous' })
  assert.deepEqual(normalizeNumber('EndCall'), { kind: 'invalid', raw: 'EndCall', reason: 'not_a_party' })
  assert.deepEqual(normalizeNumber('907-555-1234 ext. 12'), { kind: 'e164', value: '+19075551234', extension: '12' })
  assert.deepEqual(normalizeNumber('0701234567', { defaultRegion: 'SE' }), { kind: 'e164', value: '+46701234567' })
  assert.deepEqual(normalizeNumber('9075551234', { format: 'international' }), { kind: 'e164', value: '+1 907-555-1234' })
  assert.deepEqual(normalizeNumber('150', { defaultRegion: 'DE', extensions: { extensionRanges: [{ from: 100, to: 199 }] } }), {
    kind: 'internal', value: '150',
  })
})

test('normalizeNumbers is normalizeNumber element by element; the async variant too', async () => {
  const one = inputs.map((s) => normalizeNumber(s))
  assert.deepEqual(normalizeNumbers(inputs), one)
  assert.deepEqual(await normalizeNumbersAsync(inputs), one)
  assert.deepEqual(normalizeNumbers([]), [])
})
