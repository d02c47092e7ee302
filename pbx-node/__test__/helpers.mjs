// Shared test vectors: the sample data of examples/data and examples/config.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'

const root = fileURLToPath(new URL('../../', import.meta.url))
export const path = (p) => root + p
export const read = (p) => readFileSync(path(p), 'utf8')

/** cdr-sample.log */
export const sampleLog = read('examples/data/cdr-sample.log')

/** cdr-sample.expected.tsv as rows: {line, direction, owner, counterpart, talkSeconds}. */
export const expectedRows = read('examples/data/cdr-sample.expected.tsv')
  .split('\n')
  .slice(1)
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const [line, direction, owner, counterpart, talkSeconds] = l.split('\t')
    return { line: Number(line), direction, owner, counterpart, talkSeconds: Number(talkSeconds) }
  })

/** extensions.yml's map (the value of its `extensions` key). */
export const extensionsYaml = parseYaml(read('examples/data/extensions.yml')).extensions

/** examples/config/sideloader.yml */
export const sideloaderYaml = read('examples/config/sideloader.yml')
