// call-group-monitor: the old service's coverage check returned random numbers (a
// placeholder). This one feeds a real group snapshot (from 3CX XAPI /Queues and
// /RingGroups) to pbx-node's monitor and posts or resolves alerts as it says.
import {
  GroupMonitor,
  adoptActiveAlerts,
  alertOpenFailed,
  alertResolveFailed,
  recordAlertId,
  type BusinessHours,
  type CallGroup,
  type Config,
  type GroupAction,
} from 'pbx-node'

/** The call-logger API's alert endpoints. */
export interface AlertApi {
  /** POST /api/alerts/call-groups; the new alert's id. */
  open(request: NonNullable<GroupAction['request']>): Promise<string | null>
  /** PUT /api/alerts/call-groups/{id}/resolve (find the id by group when it is null). */
  resolve(groupId: string, alertId: string | null): Promise<void>
  /** GET /api/alerts/call-groups?active=true, as the backend returns them. */
  active?(): Promise<Record<string, unknown>[]>
}

export class CallGroupMonitor {
  private state: Record<string, unknown> | null = null

  constructor(
    private readonly monitor: GroupMonitor,
    private readonly api: AlertApi,
  ) {}

  static fromConfig(config: Config, hours: BusinessHours, api: AlertApi): CallGroupMonitor {
    return new CallGroupMonitor(GroupMonitor.fromConfig(config, hours), api)
  }

  /** At start-up: take over the alerts the backend already has open. */
  async adoptActive(now: Date = new Date()): Promise<void> {
    if (this.api.active) this.state = adoptActiveAlerts(this.state, await this.api.active(), now)
  }

  /** One check over a snapshot of the groups; returns what was asked. */
  async check(groups: CallGroup[], now: Date = new Date()): Promise<GroupAction[]> {
    const { actions, state } = this.monitor.evaluate(groups, this.state, now)
    this.state = state
    for (const a of actions) {
      try {
        if (a.action === 'open' && a.request) {
          const id = await this.api.open(a.request)
          if (id !== null) this.state = recordAlertId(this.state, a.groupId, id)
        }
        if (a.action === 'resolve') await this.api.resolve(a.groupId, a.alertId ?? null)
      } catch {
        // Not delivered: undo, so that the next check tries again.
        if (a.action === 'open') this.state = alertOpenFailed(this.state, a.groupId)
        if (a.action === 'resolve' && a.alert) this.state = alertResolveFailed(this.state, a.groupId, a.alert)
      }
    }
    return actions
  }
}
