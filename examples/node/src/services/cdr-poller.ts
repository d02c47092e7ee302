// cdr-poller: fetch new CDR lines, turn them into call requests, post them to the call-logger
// API. The old service parsed CDR rows itself, guessed direction from digit counts, kept the
// last id in memory and posted calls one by one. This one keeps the loop and the HTTP calls,
// and hands parsing, direction, owner and number normalization to pbx-node
// (`CallMapper.mapLinesAsync`: one crossing per batch, off the JS thread). The checkpoint
// moves only past calls whose outcome is final (delivered, duplicate, rejected); a rejected
// call or a bad line goes to the quarantine with its reason.
import { CallMapper, CdrParser, type CallRequest, type Config, type LineOutcome } from 'pbx-node'
import type { ExtensionMapper } from './extension-mapper.js'

/** One CDR line and the position just after it (what the checkpoint stores). */
export interface CdrLine {
  line: string
  position: string
}

/** Where CDR lines come from: a database table, a CDR file, the 3CX CDR socket's journal… */
export interface CdrLineSource {
  /** Up to `limit` lines after `position` (null: from the start). */
  fetch(position: string | null, limit: number): Promise<CdrLine[]>
}

/** Where the position after the last final line is kept (a file, a table). */
export interface CheckpointStore {
  load(): Promise<string | null>
  save(position: string): Promise<void>
}

export interface QuarantineEntry {
  position: string
  line: string
  reason: string
  call?: CallRequest
}

export interface PollerOptions {
  /** The call-logger API, e.g. http://localhost:8080. */
  baseUrl: string
  token?: string | null
  batchSize?: number
  intervalMs?: number
  timeoutMs?: number
  quarantine?: (entry: QuarantineEntry) => Promise<void> | void
  log?: (message: string) => void
}

export interface PollerStatus {
  running: boolean
  position: string | null
  lastPollAt: string | null
  delivered: number
  duplicates: number
  skipped: number
  quarantined: number
  lastError: string | null
}

type Delivery = 'delivered' | 'duplicate' | 'rejected' | 'retry'

export class CdrPoller {
  private readonly parser: CdrParser
  private readonly opts: Required<Omit<PollerOptions, 'token' | 'quarantine' | 'log'>> & PollerOptions
  private timer: NodeJS.Timeout | null = null
  private polling: Promise<void> | null = null
  private readonly counters: PollerStatus = {
    running: false,
    position: null,
    lastPollAt: null,
    delivered: 0,
    duplicates: 0,
    skipped: 0,
    quarantined: 0,
    lastError: null,
  }

  constructor(
    private readonly mapper: CallMapper,
    template: string,
    private readonly source: CdrLineSource,
    private readonly checkpoint: CheckpointStore,
    options: PollerOptions,
  ) {
    this.parser = new CdrParser(template)
    this.opts = { batchSize: 500, intervalMs: 30_000, timeoutMs: 10_000, ...options }
  }

  /** A poller set up from a loaded configuration, with `extensions` as the owner map. */
  static fromConfig(
    config: Config,
    extensions: ExtensionMapper,
    source: CdrLineSource,
    checkpoint: CheckpointStore,
    options: Partial<PollerOptions> = {},
  ): CdrPoller {
    const mapper = new CallMapper(extensions.extensionMap, {
      timezone: config.timezone,
      defaultRegion: config.defaultRegion,
      internalCalls: config.internalCalls,
      direction: config.direction,
    })
    return new CdrPoller(mapper, config.cdrTemplate.join(','), source, checkpoint, {
      baseUrl: config.callApi.baseUrl,
      token: config.callApiToken(),
      batchSize: config.batchSize,
      intervalMs: config.pollIntervalSecs * 1000,
      timeoutMs: config.callApi.timeoutSecs * 1000,
      ...options,
    })
  }

  start(): void {
    if (this.counters.running) return
    this.counters.running = true
    const tick = async () => {
      await this.poll()
      if (this.counters.running) this.timer = setTimeout(tick, this.opts.intervalMs)
    }
    this.timer = setTimeout(tick, 0)
  }

  /** Stops polling; waits for a poll in progress to finish (its checkpoint is saved). */
  async stop(): Promise<void> {
    this.counters.running = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.polling
  }

  status(): PollerStatus {
    return { ...this.counters }
  }

  /** One round: batches until the source has nothing new or the API is unavailable. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = null
    })
    return this.polling
  }

  private async pollOnce(): Promise<void> {
    this.counters.lastPollAt = new Date().toISOString()
    let position = await this.checkpoint.load()
    this.counters.position = position
    for (;;) {
      const batch = await this.source.fetch(position, this.opts.batchSize)
      if (batch.length === 0) return
      const outcomes = await this.mapper.mapLinesAsync(this.parser, batch.map((b) => b.line))
      for (const [i, outcome] of outcomes.entries()) {
        const item = batch[i]
        const delivery = await this.handle(item, outcome)
        if (delivery === 'retry') return // try again next round, from this line
        position = item.position
        await this.checkpoint.save(position)
        this.counters.position = position
      }
      if (batch.length < this.opts.batchSize) return
    }
  }

  private async handle(item: CdrLine, outcome: LineOutcome): Promise<Delivery> {
    if (outcome.error) {
      await this.quarantine({ position: item.position, line: item.line, reason: outcome.error.message })
      return 'rejected'
    }
    if (!outcome.call) {
      this.counters.skipped++
      this.opts.log?.(`skipped ${item.position}: ${outcome.skipped?.message}`)
      return 'delivered'
    }
    const result = await this.post(outcome.call)
    if (result.kind === 'delivered') this.counters.delivered++
    if (result.kind === 'duplicate') this.counters.duplicates++
    if (result.kind === 'rejected') {
      await this.quarantine({ position: item.position, line: item.line, reason: result.reason, call: outcome.call })
    }
    if (result.kind === 'retry') this.counters.lastError = result.reason
    return result.kind
  }

  private async quarantine(entry: QuarantineEntry): Promise<void> {
    this.counters.quarantined++
    await this.opts.quarantine?.(entry)
  }

  private async post(call: CallRequest): Promise<{ kind: Delivery; reason: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`
    try {
      const res = await fetch(new URL('/api/calls/from-pbx', this.opts.baseUrl), {
        method: 'POST',
        headers,
        body: JSON.stringify(call),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      })
      const text = await res.text()
      if (res.status === 200 || res.status === 201) return { kind: 'delivered', reason: '' }
      if (res.status === 409) return { kind: 'duplicate', reason: '' }
      if (res.status === 401 || res.status === 403) {
        // A bad or missing token: stop the round and say so; retrying each call cannot help.
        this.opts.log?.(`call API refused the token (HTTP ${res.status}): check call_api.token`)
        return { kind: 'retry', reason: `HTTP ${res.status}: unauthorized` }
      }
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        return { kind: 'rejected', reason: `HTTP ${res.status}: ${text.slice(0, 200)}` }
      }
      return { kind: 'retry', reason: `HTTP ${res.status}` }
    } catch (e) {
      return { kind: 'retry', reason: (e as Error).message }
    }
  }
}
