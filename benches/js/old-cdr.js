// The old Node sideloader's way of turning 3CX CDR lines into call requests, written for the
// comparison in benches/compare.sh (not used by pbx): split each line on commas, clean fields
// up with regular expressions, build one object per record, decide the direction from the
// type fields, look the owner up in the extension map and format the timestamp in the PBX's
// timezone with Intl. Like the original it knows nothing of CSV quoting (a quoted field with a
// comma shifts the columns of that line) and nothing of phone-number rules beyond NANP.

'use strict'

const FIELDS = [
  'historyid', 'callid', 'duration', 'timeStart', 'timeAnswered', 'timeEnd', 'reasonTerminated',
  'fromNo', 'toNo', 'fromDn', 'toDn', 'dialNo', 'reasonChanged', 'finalNumber', 'finalDn',
  'billCode', 'billRate', 'billCost', 'billName', 'chain', 'fromType', 'toType', 'finalType',
  'fromDispname', 'toDispname', 'finalDispname', 'missedQueueCalls',
]

const EXTERNAL_TYPES = /^(line|external_line|outbound_rule)$/i
const INTERNAL_NUMBER = /^(?:Ext\.)?(\d{2,5})$/i

function parseRecord(line) {
  const parts = line.replace(/\r$/, '').split(',')
  const rec = {}
  for (let i = 0; i < FIELDS.length; i++) {
    rec[FIELDS[i]] = (parts[i] || '').replace(/^\s*"?|"?\s*$/g, '')
  }
  rec.historyid = rec.historyid.replace(/^Call\s+/i, '')
  rec.chain = rec.chain.replace(/^Chain:\s*/i, '').split(';').filter((s) => s.length > 0)
  return rec
}

function parseTime(s) {
  if (!s) return null
  const m = /^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})/.exec(s)
  return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null
}

function parseDuration(s) {
  const m = /^(\d+):(\d{2}):(\d{2})/.exec(s)
  return m ? +m[1] * 3600 + +m[2] * 60 + +m[3] : 0
}

function cleanNumber(raw) {
  if (/^(anonymous|unknown|private|restricted|withheld|unavailable)$/i.test(raw)) return 'anonymous'
  const ext = INTERNAL_NUMBER.exec(raw)
  if (ext) return ext[1]
  let digits = raw.replace(/[^\d+]/g, '')
  if (/^011/.test(digits)) digits = '+' + digits.slice(3)
  if (/^\d{10}$/.test(digits)) return '+1' + digits
  if (/^1\d{10}$/.test(digits)) return '+' + digits
  return digits
}

function extensionOf(raw) {
  const m = INTERNAL_NUMBER.exec(raw)
  return m ? m[1] : null
}

function makeTimestamp(timeZone) {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  })
  const pad = (n) => String(n).padStart(2, '0')
  return (date) => {
    const p = {}
    for (const part of fmt.formatToParts(date)) p[part.type] = part.value
    const local = Date.UTC(+p.year, p.month - 1, +p.day, +p.hour, +p.minute, +p.second)
    const offset = Math.round((local - date.getTime()) / 60000)
    const sign = offset < 0 ? '-' : '+'
    const abs = Math.abs(offset)
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}.000${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  }
}

// config: { timeZone, extensions: { "101": "email" } }. Returns a call request, or
// { skipped: reason } / { error: message }.
function makeMapper(config) {
  const timestamp = makeTimestamp(config.timeZone)
  return function mapLine(line) {
    const rec = parseRecord(line)
    const start = parseTime(rec.timeStart)
    if (!start) return { error: 'bad time-start' }
    let direction
    let owner
    let number
    if (EXTERNAL_TYPES.test(rec.fromType)) {
      direction = 'INBOUND'
      owner = extensionOf(rec.finalNumber) || rec.finalDn
      number = rec.fromNo
    } else if (EXTERNAL_TYPES.test(rec.toType) || EXTERNAL_TYPES.test(rec.finalType)) {
      direction = 'OUTBOUND'
      owner = extensionOf(rec.fromNo) || rec.fromDn
      number = rec.finalNumber || rec.dialNo || rec.toNo
    } else {
      return { skipped: 'internal' }
    }
    if (/^(queue|ringgroup|ring_group|ivr|vmail|voicemail)$/i.test(rec.finalType) && direction === 'INBOUND') {
      return { skipped: 'no owner' }
    }
    const email = config.extensions[owner]
    if (!email) return { skipped: 'no owner email' }
    return {
      phoneNumber: cleanNumber(number),
      callDuration: parseDuration(rec.duration),
      callOwnerExtension: owner,
      callOwnerEmail: email,
      callDirection: direction,
      timestamp: timestamp(start),
      pbxCallId: `3cx-${rec.historyid}-${rec.callid}`,
    }
  }
}

module.exports = { makeMapper, parseRecord, cleanNumber }
