// What the Node package has because the Python package has it (scripts/parity.py checks the
// names; these check the values): Config.extensions/trunkDns/serviceDns/groupsEnabled,
// ExtensionMap.fromYaml, Classification.ruleCode and the `User` type of ExtensionMap#get.
// pbx-py/tests/test_node_parity.py asserts the same values on the Python side.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as pbx from '../index.js'
import { read, sideloaderYaml } from './helpers.mjs'

const LINE = 'Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,'

test('Config: extensions, trunkDns, serviceDns, groupsEnabled as Python has them', () => {
  const config = pbx.Config.fromYaml(sideloaderYaml, {})
  assert.deepEqual(config.trunkDns, ['10000'])
  assert.deepEqual(config.trunkDns, config.direction.trunkDns)
  assert.deepEqual(config.serviceDns, ['700', '800', '900', '999'])
  assert.deepEqual(config.serviceDns, config.direction.serviceDns)
  assert.equal(config.groupsEnabled, true)
  assert.equal(config.groupsEnabled, config.groups.enabled)
  const ext = config.extensions
  assert.ok(ext instanceof pbx.ExtensionMap)
  assert.equal(ext.size, 2)
  assert.deepEqual(ext.get('101'), { extension: '101', email: 'anna.berg@example.com', name: 'Anna Berg' })
  assert.equal(ext.emailFor('102'), 'bob.smith@example.com')
  // A copy: changing it leaves the configuration's map alone.
  ext.set('103', 'carla@example.com')
  assert.equal(ext.size, 3)
  assert.equal(config.extensions.size, 2)
  assert.equal(pbx.ExtensionMap.fromConfig(config).size, 2)
})

test('ExtensionMap.fromYaml reads extensions.yml (with its key) and plain maps', () => {
  const text = read('examples/data/extensions.yml')
  const map = pbx.ExtensionMap.fromYaml(text, 'extensions')
  assert.ok(map.size > 0)
  assert.equal(map.get('101').extension, '101')
  const plain = pbx.ExtensionMap.fromYaml("'101': anna@example.com\n'102': { email: bob@example.com, name: Bob }\n")
  assert.equal(plain.size, 2)
  assert.deepEqual(plain.get('102'), { extension: '102', email: 'bob@example.com', name: 'Bob' })
  assert.equal(plain.emailFor('999'), null)
  const fallback = pbx.ExtensionMap.fromYaml("'101': anna@example.com\n", null, 'desk@example.com')
  assert.equal(fallback.emailFor('999'), 'desk@example.com')
  // A missing key, another shape or no YAML: PBX_INVALID_ARGUMENT (kind invalid_setting) naming the key.
  assert.throws(
    () => pbx.ExtensionMap.fromYaml('users: {}\n', 'extensions'),
    (e) => e.code === 'PBX_INVALID_ARGUMENT' && /extensions/.test(e.message) && /no top-level key/.test(e.message),
  )
  assert.throws(() => pbx.ExtensionMap.fromYaml("'101': [1, 2]\n"), (e) => e.code === 'PBX_INVALID_ARGUMENT')
  assert.throws(() => pbx.ExtensionMap.fromYaml('{ not yaml'), (e) => e.code === 'PBX_INVALID_ARGUMENT')
})

test('Classification.ruleCode is the rule code (Python: rule_code)', () => {
  const cdr = new pbx.CdrParser('27').parseLine(LINE)
  const c = pbx.classify(cdr, { trunkDns: ['10000'] })
  assert.equal(c.ruleCode, c.rule)
  assert.ok(c.explanation.length > 0)
})
