// A CDR file as a CdrLineSource (line numbers as positions) and a JSON checkpoint file:
// enough to run the poller against examples/data/cdr-sample.log. A real deployment reads the
// PBX database or the CDR socket instead.
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { CdrLine, CdrLineSource, CheckpointStore } from './services/cdr-poller.js'

export class FileCdrSource implements CdrLineSource {
  constructor(private readonly path: string) {}

  async fetch(position: string | null, limit: number): Promise<CdrLine[]> {
    const lines = (await readFile(this.path, 'utf8')).split(/\r?\n/)
    const from = position === null ? 0 : Number(position)
    const out: CdrLine[] = []
    for (let i = from; i < lines.length && out.length < limit; i++) {
      if (lines[i].trim() !== '') out.push({ line: lines[i], position: String(i + 1) })
    }
    return out
  }
}

export class FileCheckpoint implements CheckpointStore {
  constructor(private readonly path: string) {}

  async load(): Promise<string | null> {
    try {
      return (JSON.parse(await readFile(this.path, 'utf8')) as { position: string }).position
    } catch {
      return null
    }
  }

  async save(position: string): Promise<void> {
    const tmp = `${this.path}.tmp`
    await writeFile(tmp, JSON.stringify({ position }))
    await rename(tmp, this.path)
  }
}

export class MemoryCheckpoint implements CheckpointStore {
  position: string | null = null
  async load(): Promise<string | null> {
    return this.position
  }
  async save(position: string): Promise<void> {
    this.position = position
  }
}
