// BusinessHours: from the example config and from XAPI OfficeHours.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BusinessHours, Config } from '../index.js'
import { sideloaderYaml } from './helpers.mjs'

const hours = BusinessHours.fromConfig(Config.fromYaml(sideloaderYaml, {}))

test('isOpen and state on the example schedule (Anchorage, UTC-9 in November)', () => {
  // Monday 2026-11-23 09:00 local = 18:00 UTC; lunch break 12:00-13:00 local.
  assert.equal(hours.isOpen(new Date('2026-11-23T17:59:59Z')), false)
  assert.equal(hours.isOpen(new Date('2026-11-23T18:00:00Z')), true)
  assert.equal(hours.isOpen(new Date('2026-11-23T21:30:00Z')), false)
  assert.deepEqual(hours.state(new Date('2026-11-23T18:00:00Z')), { open: true, reason: 'interval' })
  assert.deepEqual(hours.state(new Date('2026-11-28T20:00:00Z')), { open: false, reason: 'outside_hours' })
  // Christmas 2026 is a Friday: closed by the holiday.
  assert.deepEqual(hours.state(new Date('2026-12-25T20:00:00Z')), { open: false, reason: 'holiday', name: 'Christmas' })
})

test('nextChange', () => {
  assert.deepEqual(hours.nextChange(new Date('2026-11-23T18:00:00Z')), { at: new Date('2026-11-23T21:00:00Z'), opens: false })
  assert.deepEqual(hours.nextChange(new Date('2026-11-23T21:00:00Z')), { at: new Date('2026-11-23T22:00:00Z'), opens: true })
  assert.equal(BusinessHours.always('UTC').nextChange(new Date()), null)
})

test('fromXapi reads 3CX OfficeHours, Windows zone names included', () => {
  const h = BusinessHours.fromXapi({
    TimeZoneId: 'Alaskan Standard Time',
    Hours: { Type: 'OfficeHours', Periods: [{ DayOfWeek: 'Monday', Start: '09:00:00', Stop: '17:00:00' }] },
    OfficeHolidays: [],
  })
  assert.equal(h.timezone, 'America/Anchorage')
  assert.equal(h.isOpen(new Date('2026-11-23T18:00:00Z')), true)
  assert.equal(h.isOpen(new Date('2026-11-24T18:00:00Z')), false)
})

test('weekdays and never, as in the Python binding', () => {
  const weekdays = BusinessHours.weekdays('America/Anchorage')
  assert.equal(weekdays.isOpen(new Date('2026-11-02T18:00:00Z')), true) // Monday 09:00 AKST
  assert.equal(weekdays.isOpen(new Date('2026-11-01T20:00:00Z')), false) // Sunday
  assert.deepEqual(weekdays.nextChange(new Date('2026-11-02T18:00:00Z')), { at: new Date('2026-11-03T02:00:00Z'), opens: false })
  const mornings = BusinessHours.weekdays('America/Anchorage', '08:00-12:00')
  assert.equal(mornings.isOpen(new Date('2026-11-02T17:30:00Z')), true)
  assert.equal(mornings.isOpen(new Date('2026-11-02T21:30:00Z')), false)
  const never = BusinessHours.never('UTC')
  assert.equal(never.isOpen(new Date('2026-11-02T12:00:00Z')), false)
  assert.equal(never.nextChange(new Date('2026-11-02T12:00:00Z')), null)
  assert.throws(() => BusinessHours.weekdays('UTC', '25:00-26:00'), (e) => e.code === 'PBX_INVALID_ARGUMENT')
  assert.throws(() => BusinessHours.never('Mars/Olympus'), (e) => e.code === 'PBX_INVALID_ARGUMENT')
})
