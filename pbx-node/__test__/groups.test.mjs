// evaluateGroups / GroupMonitor: debounced alerts, resolution, state that survives JSON.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BusinessHours, GroupMonitor, adoptActiveAlerts, alertOpenFailed, alertResolveFailed, evaluateGroups, recordAlertId,
  recordOpenedAlert,
} from '../index.js'

const always = BusinessHours.always('UTC')
const now = new Date('2026-11-23T18:00:00Z')
const empty = [{ id: '800', name: 'Support Queue', kind: 'queue', members: [] }]
const staffed = [{ id: '800', name: 'Support Queue', kind: 'queue', members: [{ extension: '103', available: true }] }]

test('an unstaffed group alerts after the debounce, and resolves when staffed', () => {
  const first = evaluateGroups(always, empty, null, now)
  assert.deepEqual(first.actions, [])
  const second = evaluateGroups(always, empty, JSON.parse(JSON.stringify(first.state)), now)
  assert.equal(second.actions.length, 1)
  const open = second.actions[0]
  assert.equal(open.action, 'open')
  assert.deepEqual(open.request, {
    callGroupId: '800',
    callGroupName: 'Support Queue',
    alertType: 'NO_ASSIGNED_USERS',
    alertMessage: 'Support Queue has no assigned users during business hours',
  })
  const third = evaluateGroups(always, staffed, second.state, now)
  assert.equal(third.actions.length, 1)
  assert.equal(third.actions[0].action, 'resolve')
  assert.equal(third.actions[0].reason, 'staffed')
  assert.equal(third.actions[0].alertType, 'NO_ASSIGNED_USERS')
})

test('options: debounce 1 opens at once; excluded groups are left alone', () => {
  assert.equal(evaluateGroups(always, empty, null, now, { debounce: 1 }).actions.length, 1)
  assert.equal(evaluateGroups(always, empty, null, now, { debounce: 1, exclude: ['800'] }).actions.length, 0)
  const monitor = new GroupMonitor(always, { debounce: 1 })
  const away = [{ id: '700', name: 'Sales', kind: 'ring_group', members: [{ extension: '101', available: false }] }]
  assert.equal(monitor.evaluate(away, undefined, now).actions[0].request.alertType, 'NO_AVAILABLE_USERS')
})

test('a group of an unknown kind or an unreadable state is PBX_INVALID_ARGUMENT', () => {
  assert.throws(() => evaluateGroups(always, [{ ...empty[0], kind: 'team' }], null, now), { code: 'PBX_INVALID_ARGUMENT' })
  assert.throws(() => evaluateGroups(always, empty, { groups: 5 }, now), { code: 'PBX_INVALID_ARGUMENT' })
})

test('state helpers: record the alert id, undo a failed open or resolve, adopt active alerts', () => {
  const opened = evaluateGroups(always, empty, null, now, { debounce: 1 })
  const withId = recordAlertId(opened.state, '800', '17')
  const resolved = evaluateGroups(always, staffed, withId, now)
  assert.equal(resolved.actions[0].alertId, '17')
  // The resolve could not be delivered: the alert is open again and resolved at the next check.
  const back = alertResolveFailed(resolved.state, '800', resolved.actions[0].alert)
  assert.equal(evaluateGroups(always, staffed, back, now).actions[0].alertId, '17')
  // The open could not be posted: the next check opens again.
  const undone = alertOpenFailed(opened.state, '800')
  assert.equal(evaluateGroups(always, empty, undone, now, { debounce: 1 }).actions[0].action, 'open')
  // After a lost state file, the backend's active alert is adopted, not posted again.
  const adopted = adoptActiveAlerts(null, [{
    id: 42, callGroupId: '800', callGroupName: 'Support Queue', alertType: 'NO_ASSIGNED_USERS',
    alertMessage: 'x', isActive: true,
  }], now)
  assert.deepEqual(evaluateGroups(always, empty, adopted, now, { debounce: 1 }).actions, [])
  assert.equal(evaluateGroups(always, staffed, adopted, now).actions[0].alertId, '42')
})

test('recordOpenedAlert: only the group\'s own alert is recorded for an open', () => {
  const opened = evaluateGroups(always, empty, null, now, { debounce: 1 })
  const request = opened.actions[0].request
  const answer = { id: 9, callGroupId: '999', callGroupName: 'Other', alertType: request.alertType, alertMessage: 'm', isActive: true }
  // Another group's alert: not recorded, the open undone (the next check posts again).
  const foreign = recordOpenedAlert(opened.state, request, answer)
  assert.equal(foreign.accepted, false)
  const again = evaluateGroups(always, empty, foreign.state, now, { debounce: 1 })
  assert.equal(again.actions[0].action, 'open')
  const own = recordOpenedAlert(again.state, again.actions[0].request, { ...answer, callGroupId: '800' })
  assert.equal(own.accepted, true)
  assert.equal(evaluateGroups(always, staffed, own.state, now).actions[0].alertId, '9')
  assert.throws(() => recordOpenedAlert(opened.state, request, { id: 1 }), { code: 'PBX_INVALID_ARGUMENT' })
})
