// The sideloader's entry point, on pbx-node:
//   node dist/main.js <config.yml>
// loads and validates the configuration (every problem at once, with paths), polls the
// configured source into the configured sink once, and prints pbx-sideloader's summary line.
import { loadConfig, type PbxError } from 'pbx-node'
import { BusinessHoursService } from './services/business-hours.js'
import { CdrPoller } from './services/cdr-poller.js'

async function main(argv: string[]): Promise<number> {
  const [configPath] = argv
  if (!configPath) {
    console.error('usage: main.js <config.yml>')
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
  const hours = BusinessHoursService.fromConfig(config)
  try {
    const summary = await new CdrPoller(config).poll()
    console.log(summary?.text)
  } catch (e) {
    const err = e as PbxError
    console.error(`${err.code} (${err.kind}): ${err.message}`)
    return err.code === 'PBX_INVALID_ARGUMENT' ? 2 : 1
  }
  console.log(JSON.stringify({ businessHours: hours.status() }))
  return 0
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
