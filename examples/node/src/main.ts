// The sideloader's entry point, rewired onto pbx-node:
//   node dist/main.js <config.yml> <cdr-file> [checkpoint.json]
// loads and validates the configuration (every problem at once, with paths), then polls the
// CDR file into the call-logger API once and prints the status.
import { loadConfig, type PbxError } from 'pbx-node'
import { BusinessHoursService } from './services/business-hours.js'
import { CdrPoller } from './services/cdr-poller.js'
import { ExtensionMapper } from './services/extension-mapper.js'
import { FileCdrSource, FileCheckpoint } from './file-source.js'

async function main(argv: string[]): Promise<number> {
  const [configPath, cdrPath, checkpointPath = 'pbx-checkpoint.json'] = argv
  if (!configPath || !cdrPath) {
    console.error('usage: main.js <config.yml> <cdr-file> [checkpoint.json]')
    return 2
  }
  let config
  try {
    config = loadConfig(configPath)
  } catch (e) {
    const err = e as PbxError
    console.error(`${err.code}: ${err.message}`)
    return 2
  }
  const extensions = ExtensionMapper.fromConfig(config)
  const hours = BusinessHoursService.fromConfig(config)
  const poller = CdrPoller.fromConfig(config, extensions, new FileCdrSource(cdrPath), new FileCheckpoint(checkpointPath), {
    log: (m) => console.log(m),
    quarantine: (q) => console.error(`quarantined ${q.position}: ${q.reason}`),
  })
  await poller.poll()
  console.log(JSON.stringify({ poller: poller.status(), businessHours: hours.status(), extensions: extensions.size }))
  return 0
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
