// cdr-poller: the old service's shape (poll, start, stop, status) over pbx-node's `Sideloader`
// — the runtime pbx-sideloader runs. The old service had its own engine (its own parsing,
// retry rules and a checkpoint after every call) that disagreed with pbx's; now the source
// (any `source.kind`: the PBX database, a site table, the CDR socket, a file), the call API
// client (201/200 delivered, 409 already delivered, retries with backoff, 401/403 stop), the
// checkpoint (only past acknowledged calls) and the quarantine are all the configuration's.
import { Sideloader, type BackfillSummary, type Config, type SideloaderStatus, type SideloaderSummary } from 'pbx-node'

export class CdrPoller {
  private readonly sideloader: Sideloader

  /** A poller for a loaded configuration or the path of one. Throws `PBX_CONFIG_ERROR` with
   * every problem of a bad file, `PBX_INVALID_ARGUMENT` when a part cannot be built. */
  constructor(config: Config | string) {
    this.sideloader = new Sideloader(config)
  }

  static fromConfig(config: Config): CdrPoller {
    return new CdrPoller(config)
  }

  /** Polls on its own: at once while there is more, then every `polling.interval_secs`. */
  start(): void {
    if (!this.sideloader.status().running) this.sideloader.start()
  }

  /** Stops polling; the round in progress finishes and saves its checkpoint. */
  stop(): Promise<SideloaderStatus> {
    return this.sideloader.stop()
  }

  status(): SideloaderStatus {
    return this.sideloader.status()
  }

  /** One poll while stopped: until the source is drained. Rejects when calls are left behind
   * (credentials refused, the API kept failing). While started, asks for a round now. */
  async poll(): Promise<SideloaderSummary | null> {
    if (this.sideloader.status().running) {
      this.sideloader.trigger()
      return null
    }
    return this.sideloader.runOnce()
  }

  /** Delivers the calls of a range again (`pbx-sideloader backfill`): days `YYYY-MM-DD` in
   * `pbx.timezone` (both included) or RFC 3339 instants, with the backfill's own checkpoint —
   * what the old app could not do after an outage of the call API. Rejects while started. */
  backfill(from: string, to: string): Promise<BackfillSummary> {
    return this.sideloader.backfill(from, to)
  }
}
