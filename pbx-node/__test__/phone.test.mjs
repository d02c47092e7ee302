// normalizeNumber / normalizeNumbers (one crossing per batch, strings) / normalizeNumbersDetailed / normalizeNumbersAsync.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeNumber, normalizeNumbers, normalizeNumbersAsync, normalizeNumbersDetailed } from '../index.js'

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

test('normalizeNumbersDetailed is normalizeNumber element by element', () => {
  const one = inputs.map((s) => normalizeNumber(s))
  assert.deepEqual(normalizeNumbersDetailed(inputs), one)
  assert.deepEqual(normalizeNumbersDetailed([]), [])
})

test('normalizeNumbers (the bulk form) is the value or null, element by element; the async variant too', async () => {
  const values = inputs.map((s) => normalizeNumber(s).value ?? null)
  assert.deepEqual(normalizeNumbers(inputs), values)
  assert.deepEqual(normalizeNumbers(inputs), ['+19075551234', '+442079460018', '101', null, null, null, '+19075551234', '12'])
  assert.deepEqual(await normalizeNumbersAsync(inputs), values)
  assert.deepEqual(normalizeNumbers(['0701234567'], { defaultRegion: 'SE', format: 'international' }), ['+46 70 123 45 67'])
  assert.deepEqual(normalizeNumbers([]), [])
})
