/**
 * The live terminal summary of `headroom run --embedded`: per site load, headroom,
 * utilization, the node with the least headroom left, PUE; readings/s, dead letters, and the
 * firing alerts by name and severity. Every figure says what it is. Redrawn in place on a
 * TTY (the cursor moves back over the previous block, nothing scrolls); plain lines
 * otherwise (logs, CI, pipes).
 */
import { clearScreenDown, cursorTo, moveCursor } from 'node:readline';
import type { AlertSeverity, NodeWindow, OutputRecord, SiteWindow, Topology } from '../domain/index.js';
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

/** An alert firing now, as the summary shows it. */
export interface FiringAlert {
  site: string;
  node: string | null;
  rule: string;
  severity: AlertSeverity;
  /** Event time it started firing. */
  sinceMs: number;
  /** Its `summary` annotation, if the rule has one. */
  summary: string | null;
}

/** Keeps the latest window (of one size) per site, from the records the pipeline writes. */
export class SummaryCollector {
  private readonly roots = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, Map<string, NodeWindow>>();
  private readonly sites = new Map<string, SiteWindow>();
  alerts = 0;
  alertsFiring = 0;
  private readonly firing = new Map<string, FiringAlert>();

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
        const key = `${r.site}\u0000${r.node ?? ''}\u0000${r.rule}\u0000${r.severity}`;
        if (r.state === 'firing') {
          this.firing.set(key, { site: r.site, node: r.node, rule: r.rule, severity: r.severity, sinceMs: r.atMs, summary: r.annotations['summary'] ?? null });
        } else if (r.state === 'resolved') this.firing.delete(key);
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

  /** Alerts firing now: critical first, then by site, rule and node. */
  firingAlerts(): FiringAlert[] {
    const rank = (a: FiringAlert): number => (a.severity === 'critical' ? 0 : 1);
    return [...this.firing.values()].sort((a, b) => rank(a) - rank(b) || a.site.localeCompare(b.site) || a.rule.localeCompare(b.rule) || (a.node ?? '').localeCompare(b.node ?? ''));
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
const pue = (p: number | null): string => (p === null ? '–' : p.toFixed(2));

/** Firing alerts listed on a TTY at most; the rest are counted. */
const MAX_ALERT_LINES = 10;

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
}

function leastHeadroom(w: WorstNode | null): string {
  return w === null ? '–' : `${w.node} (${w.level}) ${percent(w.headroomRatio)} of usable left${w.headroomCertain ? '' : ', uncertain'}`;
}

function alertTarget(a: FiringAlert): string {
  return a.node === null ? a.site : `${a.site}/${a.node}`;
}

/**
 * The summary as text: a table on a TTY, one line per site and per firing alert otherwise.
 * Pure (tested): state in, text out.
 */
export function renderSummary(sites: readonly SiteSummary[], totals: SummaryTotals, windowMs: number, tty: boolean, firing: readonly FiringAlert[] = []): string {
  const head =
    `headroom · up ${formatDurationMs(Math.max(1, Math.round(totals.uptimeSeconds)) * 1000)} · ` +
    `${totals.readingsPerSecond.toFixed(0)} readings/s · ${totals.readings} readings · ` +
    `${totals.deadLetters} dead letters · alerts: ${totals.alertsFiring} firing, ${totals.alerts} transitions so far` +
    (totals.sourcePaused ? ' · source PAUSED (a sink is full)' : '');
  const window = formatDurationMs(windowMs);
  if (!tty) {
    const lines = [head];
    for (const s of sites) {
      lines.push(
        `site ${s.site}, latest ${window} window: load ${power(s.loadWatts)}, headroom ${power(s.headroomWatts)} (usable − load), ` +
          `utilization ${percent(s.utilization)} of rating, contract headroom ${power(s.contractHeadroomWatts)}, PUE ${pue(s.pue)}, ` +
          `least headroom ${leastHeadroom(s.worst)}`,
      );
    }
    for (const a of firing) lines.push(`alert firing: ${a.severity} ${a.rule} at ${alertTarget(a)}${a.summary === null ? '' : `: ${a.summary}`}`);
    return lines.join('\n') + '\n';
  }
  const header = ['SITE', 'LOAD', 'HEADROOM', 'UTILIZATION', 'CONTRACT HEADROOM', 'PUE', 'LEAST HEADROOM (node, % of usable left)'];
  const rows = sites.map((s) => [s.site, power(s.loadWatts), power(s.headroomWatts), percent(s.utilization), power(s.contractHeadroomWatts), pue(s.pue), leastHeadroom(s.worst)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const lines = [
    head,
    `latest ${window} windows · load: facility (or root nodes) · headroom: usable (rating × derate) − load at the roots · utilization: load / rating`,
    '',
    pad(header, widths),
    ...rows.map((r) => pad(r, widths)),
    '',
  ];
  if (firing.length === 0) lines.push('firing alerts: none');
  else {
    lines.push(`firing alerts (${firing.length}):`);
    const shown = firing.slice(0, MAX_ALERT_LINES);
    const alertRows = shown.map((a) => [a.severity.toUpperCase(), a.rule, alertTarget(a), a.summary ?? '']);
    const alertWidths = [0, 1, 2].map((i) => Math.max(...alertRows.map((r) => (r[i] ?? '').length)));
    for (const r of alertRows) lines.push(`  ${pad(r, alertWidths)}`);
    if (firing.length > shown.length) lines.push(`  … and ${firing.length - shown.length} more`);
  }
  lines.push('', 'Ctrl-C to stop');
  return lines.join('\n') + '\n';
}

export interface TerminalSummaryOptions {
  collector: SummaryCollector;
  totals: () => Omit<SummaryTotals, 'readingsPerSecond' | 'uptimeSeconds'>;
  clock: () => number;
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Refresh period. Default 3 s. */
  refreshMs?: number;
  /** Lines shown under the table on a TTY (metrics URL, results file). */
  info?: readonly string[];
}

/** Refreshes the summary on a timer: in place on a TTY, as plain lines otherwise. */
export class TerminalSummary {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedMs: number;
  private lastMs: number;
  private lastReadings = 0;
  /** Rows the previous block took on the TTY (0 before the first). */
  private drawnRows = 0;

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
    const out = this.opts.out;
    const tty = out.isTTY === true;
    const collector = this.opts.collector;
    const text = renderSummary(collector.snapshot(), totals, collector.windowMs, tty, collector.firingAlerts());
    if (!tty) {
      out.write(text);
      return;
    }
    // Each line clipped to the terminal's width takes exactly one row, so the next redraw
    // knows how far to move back up.
    const columns = out.columns !== undefined && out.columns > 1 ? out.columns - 1 : Infinity;
    const lines = [...text.split('\n').slice(0, -1), ...(this.opts.info ?? [])].map((l) => (l.length > columns ? `${l.slice(0, columns - 1)}…` : l));
    if (this.drawnRows > 0) moveCursor(out, 0, -this.drawnRows);
    cursorTo(out, 0);
    clearScreenDown(out);
    out.write(lines.join('\n') + '\n');
    this.drawnRows = lines.length;
  }
}
