// The failover reports this node has seen, newest first, in a bounded list:
// an operator wants the recent history, and a flapping cluster must not grow
// the admin process without bound.
import type { FailoverReport } from '../../runtime/node-api.ts';

/** Reports kept; older ones are dropped (each failover is also a log line and a counter). */
export const MAX_FAILOVER_REPORTS = 100;

export class FailoverHistory {
  private readonly reports: FailoverReport[] = [];

  constructor(private readonly limit = MAX_FAILOVER_REPORTS) {}

  add(report: FailoverReport): void {
    this.reports.unshift(report);
    if (this.reports.length > this.limit) this.reports.length = this.limit;
  }

  /** Newest first. */
  list(): readonly FailoverReport[] {
    return this.reports;
  }
}
