// business-hours: open or closed now, and when that changes. The old service compared
// `HH:MM` strings per weekday in one timezone; this one asks pbx-node, which also knows
// holidays, closures, breaks and DST.
import { BusinessHours, type Config, type HoursStatus } from 'pbx-node'

export interface BusinessHoursStatus extends HoursStatus {
  timezone: string
  /** The next opening or closing (ISO 8601, UTC), or null when it never changes. */
  nextChange: string | null
}

export class BusinessHoursService {
  constructor(
    private readonly hours: BusinessHours,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * The `business_hours` of a loaded configuration. With `business_hours.from_xapi: true`,
   * pass 3CX's `GET /OfficeHours` JSON as `officeHours`.
   */
  static fromConfig(config: Config, officeHours?: Record<string, unknown>, clock?: () => Date): BusinessHoursService {
    let hours = BusinessHours.fromConfig(config)
    if (!hours && config.businessHoursSource === 'xapi' && officeHours) hours = BusinessHours.fromXapi(officeHours)
    return new BusinessHoursService(hours ?? BusinessHours.always(config.timezone), clock)
  }

  /** The old `isBusinessHours()`. */
  isBusinessHours(at: Date = this.clock()): boolean {
    return this.hours.isOpen(at)
  }

  /** What the old `/status` endpoint showed, with the reason and the next change. */
  status(at: Date = this.clock()): BusinessHoursStatus {
    const next = this.hours.nextChange(at)
    return { ...this.hours.state(at), timezone: this.hours.timezone, nextChange: next ? next.at.toISOString() : null }
  }

  /** The pbx-node schedule, for `evaluateGroups`. */
  get businessHours(): BusinessHours {
    return this.hours
  }
}
