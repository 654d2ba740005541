/**
 * The live terminal summary of `headroom run --embedded`: per site load, headroom,
 * utilization, worst node (least headroom ratio), PUE; readings/s, dead letters, alerts.
 * Redrawn in place on a TTY; plain lines otherwise (logs, CI, pipes).
 */
import type { NodeWindow, OutputRecord, SiteWindow, Topology } from '../domain/index.js';
import { formatDurationMs, formatPowerWatts } from '../config/index.js';

export interface WorstNode {
  node: string;
  level: string;
  headroomWatts: number;
  /** headroomWatts / usableWatts. */
  headroomRatio: number;
  headroomCertain: boolean;
}

export interface SiteSummary {
  site: string;
  /** Start of the latest window summarised; null before the first. */
  windowStartMs: number | null;
  loadWatts: number | null;
  headroomWatts: number | null;
  utilization: number | null;
  worst: WorstNode | null;
  pue: number | null;
  contractHeadroomWatts: number | null;
}

export interface SummaryTotals {
  uptimeSeconds: number;
  readingsPerSecond: number;
  readings: number;
  deadLetters: number;
  alertsFiring: number;
  alerts: number;
  sourcePaused: boolean;
}

/** Keeps the latest window (of one size) per site, from the records the pipeline writes. */
export class SummaryCollector {
  private readonly roots = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, Map<string, NodeWindow>>();
  private readonly sites = new Map<string, SiteWindow>();
  alerts = 0;
  alertsFiring = 0;
  private readonly firing = new Set<string>();

  constructor(
    private readonly topology: Topology,
    /** Window size summarised (the smallest configured, for a live view). */
    readonly windowMs: number,
  ) {
    for (const s of topology.sites) {
      this.roots.set(s.id, new Set(s.nodes.filter((n) => n.parent === null).map((n) => n.id)));
      this.nodes.set(s.id, new Map());
    }
  }

  observe(records: readonly OutputRecord[]): void {
    for (const r of records) {
      if (r.type === 'alert') {
        this.alerts++;
        const key = `${r.site}\u0000${r.node ?? ''}\u0000${r.rule}`;
        if (r.state === 'firing') this.firing.add(key);
        else if (r.state === 'resolved') this.firing.delete(key);
        this.alertsFiring = this.firing.size;
        continue;
      }
      if (r.windowMs !== this.windowMs) continue;
      if (r.type === 'node') {
        const m = this.nodes.get(r.site);
        const prev = m?.get(r.node);
        if (m !== undefined && (prev === undefined || r.start >= prev.start)) m.set(r.node, r);
      } else if (r.type === 'site') {
        const prev = this.sites.get(r.site);
        if (prev === undefined || r.start >= prev.start) this.sites.set(r.site, r);
      }
    }
  }

  snapshot(): SiteSummary[] {
    return this.topology.sites.map((spec) => {
      const siteWindow = this.sites.get(spec.id) ?? null;
      const nodes = this.nodes.get(spec.id) ?? new Map<string, NodeWindow>();
      let latestStart: number | null = null;
      for (const n of nodes.values()) if (latestStart === null || n.start > latestStart) latestStart = n.start;
      let rootLoad = 0;
      let rootHeadroom = 0;
      let rootRating = 0;
      let roots = 0;
      let worst: WorstNode | null = null;
      for (const n of nodes.values()) {
        if (n.start !== latestStart) continue;
        if (this.roots.get(spec.id)?.has(n.node) === true) {
          rootLoad += n.loadWatts;
          rootHeadroom += n.headroomWatts;
          rootRating += n.ratingWatts;
          roots++;
        }
        if (n.usableWatts <= 0) continue;
        const ratio = n.headroomWatts / n.usableWatts;
        if (worst === null || ratio < worst.headroomRatio) {
          worst = { node: n.node, level: n.level, headroomWatts: n.headroomWatts, headroomRatio: ratio, headroomCertain: n.headroomCertain };
        }
      }
      return {
        site: spec.id,
        windowStartMs: latestStart,
        loadWatts: siteWindow?.facilityWatts ?? (roots > 0 ? rootLoad : null),
        headroomWatts: roots > 0 ? rootHeadroom : null,
        utilization: roots > 0 && rootRating > 0 ? rootLoad / rootRating : null,
        worst,
        pue: siteWindow?.pue ?? null,
        contractHeadroomWatts: siteWindow?.contractHeadroomWatts ?? null,
      };
    });
  }
}

const power = (w: number | null): string => (w === null ? '–' : formatPowerWatts(Number(w.toPrecision(4))));
const percent = (r: number | null): string => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
}

/** The summary as text: a table on a TTY, one line per site otherwise. Pure (tested). */
export function renderSummary(sites: readonly SiteSummary[], totals: SummaryTotals, windowMs: number, tty: boolean): string {
  const head =
    `headroom · up ${formatDurationMs(Math.max(1, Math.round(totals.uptimeSeconds)) * 1000)} · ` +
    `${totals.readingsPerSecond.toFixed(0)} readings/s · ${totals.readings} readings · ` +
    `dead letters ${totals.deadLetters} · alerts ${totals.alertsFiring} firing (${totals.alerts} so far)` +
    (totals.sourcePaused ? ' · source PAUSED (sink full)' : '');
  if (!tty) {
    const lines = [head];
    for (const s of sites) {
      const worst = s.worst === null ? '–' : `${s.worst.node} ${percent(s.worst.headroomRatio)}${s.worst.headroomCertain ? '' : ' (uncertain)'}`;
      lines.push(
        `site ${s.site} [${formatDurationMs(windowMs)}]: load ${power(s.loadWatts)}, headroom ${power(s.headroomWatts)}, ` +
          `utilization ${percent(s.utilization)}, worst ${worst}, PUE ${s.pue === null ? '–' : s.pue.toFixed(2)}`,
      );
    }
    return lines.join('\n') + '\n';
  }
  const header = ['SITE', 'LOAD', 'HEADROOM', 'UTIL', 'CONTRACT HR', 'PUE', 'WORST NODE (headroom/usable)'];
  const rows = sites.map((s) => [
    s.site,
    power(s.loadWatts),
    power(s.headroomWatts),
    percent(s.utilization),
    power(s.contractHeadroomWatts),
    s.pue === null ? '–' : s.pue.toFixed(2),
    s.worst === null ? '–' : `${s.worst.node} (${s.worst.level}) ${percent(s.worst.headroomRatio)}${s.worst.headroomCertain ? '' : ' uncertain'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, `latest ${formatDurationMs(windowMs)} windows`, '', pad(header, widths), ...rows.map((r) => pad(r, widths)), '', 'Ctrl-C to stop'].join('\n') + '\n';
}

export interface TerminalSummaryOptions {
  collector: SummaryCollector;
  totals: () => Omit<SummaryTotals, 'readingsPerSecond' | 'uptimeSeconds'>;
  clock: () => number;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  /** Refresh period. Default 3 s. */
  refreshMs?: number;
  /** Lines shown under the table on a TTY (metrics URL, results file). */
  info?: readonly string[];
}

/** Refreshes the summary on a timer. */
export class TerminalSummary {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedMs: number;
  private lastMs: number;
  private lastReadings = 0;

  constructor(private readonly opts: TerminalSummaryOptions) {
    this.startedMs = opts.clock();
    this.lastMs = this.startedMs;
  }

  start(): void {
    this.timer = setInterval(() => this.render(), this.opts.refreshMs ?? 3_000);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  render(): void {
    const nowMs = this.opts.clock();
    const t = this.opts.totals();
    const dtSeconds = Math.max(1e-3, (nowMs - this.lastMs) / 1000);
    const totals: SummaryTotals = { ...t, uptimeSeconds: (nowMs - this.startedMs) / 1000, readingsPerSecond: (t.readings - this.lastReadings) / dtSeconds };
    this.lastMs = nowMs;
    this.lastReadings = t.readings;
    const tty = this.opts.out.isTTY === true;
    const text = renderSummary(this.opts.collector.snapshot(), totals, this.opts.collector.windowMs, tty);
    // On a TTY: cursor home and clear screen, then the table.
    const info = tty && this.opts.info !== undefined && this.opts.info.length > 0 ? this.opts.info.join('\n') + '\n' : '';
    this.opts.out.write(tty ? `\x1b[H\x1b[2J${text}${info}` : text);
  }
}
