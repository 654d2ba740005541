/** The worker group's own metrics, on an injected registry (names in telemetry/metric-names). */
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  GROUP_LEASE_ACQUISITIONS_TOTAL,
  GROUP_LEASE_RENEW_FAILURES_TOTAL,
  GROUP_LEASE_TAKEOVERS_TOTAL,
  GROUP_LEASES_LOST_TOTAL,
  GROUP_MEMBERS,
  GROUP_PARTITIONS_OWNED,
} from '../../telemetry/index.js';

export type RenewFailureReason = 'conflict' | 'unreachable';
export type LossReason = 'conflict' | 'expired';

export class GroupMetrics {
  private readonly owned: Gauge<'group'>;
  private readonly members: Gauge<'group'>;
  private readonly acquisitions: Counter<'group' | 'how'>;
  private readonly takeovers: Counter<'group'>;
  private readonly renewFailures: Counter<'group' | 'reason'>;
  private readonly lost: Counter<'group' | 'reason'>;

  constructor(
    registry: Registry,
    private readonly group: string,
  ) {
    const registers = [registry];
    this.owned = new Gauge({ name: GROUP_PARTITIONS_OWNED, help: 'Partitions this worker holds a lease on', labelNames: ['group'], registers });
    this.members = new Gauge({ name: GROUP_MEMBERS, help: 'Live members of the group as this worker sees them', labelNames: ['group'], registers });
    this.acquisitions = new Counter({ name: GROUP_LEASE_ACQUISITIONS_TOTAL, help: 'Leases acquired, by how (free, takeover)', labelNames: ['group', 'how'], registers });
    this.takeovers = new Counter({ name: GROUP_LEASE_TAKEOVERS_TOTAL, help: 'Leases taken over from a holder whose lease ran out', labelNames: ['group'], registers });
    this.renewFailures = new Counter({ name: GROUP_LEASE_RENEW_FAILURES_TOTAL, help: 'Lease renewals that failed, by reason (conflict, unreachable)', labelNames: ['group', 'reason'], registers });
    this.lost = new Counter({ name: GROUP_LEASES_LOST_TOTAL, help: 'Leases this worker lost, by reason (conflict, expired)', labelNames: ['group', 'reason'], registers });
    this.owned.set({ group }, 0);
  }

  setOwned(count: number): void {
    this.owned.set({ group: this.group }, count);
  }

  setMembers(count: number): void {
    this.members.set({ group: this.group }, count);
  }

  acquired(takeover: boolean): void {
    this.acquisitions.inc({ group: this.group, how: takeover ? 'takeover' : 'free' });
    if (takeover) this.takeovers.inc({ group: this.group });
  }

  renewFailed(reason: RenewFailureReason): void {
    this.renewFailures.inc({ group: this.group, reason });
  }

  leaseLost(reason: LossReason): void {
    this.lost.inc({ group: this.group, reason });
  }
}
