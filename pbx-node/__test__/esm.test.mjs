// Both entry points work and export the same names: `require('pbx-node')` (index.js,
// CommonJS, generated) and `import … from 'pbx-node'` (index.mjs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as esm from 'pbx-node'
import esmDefault, { CdrParser } from 'pbx-node'

const require = createRequire(import.meta.url)
const cjs = require('pbx-node')

test('import and require give the same binding', () => {
  assert.equal(esmDefault, cjs)
  assert.equal(CdrParser, cjs.CdrParser)
  assert.equal(typeof esm.version(), 'string')
})

test('index.mjs exports every function and class of index.js', () => {
  const wanted = Object.keys(cjs).filter((k) => typeof cjs[k] === 'function').sort()
  const exported = Object.keys(esm).filter((k) => k !== 'default').sort()
  assert.deepEqual(exported, wanted)
})
