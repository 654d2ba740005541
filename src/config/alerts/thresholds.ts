/** Threshold scalars per metric (`15%`, `200kW`, `10%/min`, `30s`, `0.1Hz`, `0.9`) and { at, clear } pairs. */
import { METRIC_DIRECTION, type AlertMetric, type SeverityThreshold, type Threshold } from '../../core/alerts/index.js';
import { checkConfigDurationMs, checkPowerWatts } from '../units.js';
import type { SeverityInput } from './rule-schema.js';

// ---------------------------------------------------------------------------------------
// thresholds

type ThresholdResult = { ok: true; value: Threshold } | { ok: false; message: string };

const PERCENT_RE = /^\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*%\s*$/;
const PER_TIME_RE = /^\s*(.+?)\s*\/\s*(s|min|h)\s*$/;
const HERTZ_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*Hz\s*$/;
const PER_SECONDS: Readonly<Record<string, number>> = { s: 1, min: 60, h: 3600 };

function signedPower(s: string): ThresholdResult {
  const neg = /^\s*-/.test(s);
  const r = checkPowerWatts(neg ? s.replace('-', '') : s);
  if (!r.ok) return r;
  return { ok: true, value: { value: neg ? -r.value : r.value, relative: false } };
}

function percent(s: string): number | null {
  const m = PERCENT_RE.exec(s);
  return m === null || m[1] === undefined ? null : Number(m[1]) / 100;
}

/** One threshold scalar of `metric` → Threshold (base units, or relative). */
export function parseThreshold(metric: AlertMetric, input: string | number): ThresholdResult {
  const s = typeof input === 'string' ? input : null;
  switch (metric) {
    case 'headroom':
    case 'failover_headroom':
    case 'swing':
    case 'demand': {
      const what = metric === 'demand' ? 'of the reference (period peak or contract)' : metric === 'swing' ? 'of the rating' : 'of usable';
      if (s === null) return { ok: false, message: `expected a percentage ${what} (15%) or a power (200kW), got a bare number` };
      const p = percent(s);
      if (p !== null) return { ok: true, value: { value: p, relative: true } };
      return signedPower(s);
    }
    case 'utilization':
    case 'completeness': {
      if (typeof input === 'number') return input >= 0 && input <= 2 ? { ok: true, value: { value: input, relative: false } } : { ok: false, message: `expected a ratio (0.9) or a percentage (90%), got ${input}` };
      const p = percent(input);
      return p === null ? { ok: false, message: `expected a ratio (0.9) or a percentage (90%), got '${input}'` } : { ok: true, value: { value: p, relative: false } };
    }
    case 'ramp_rate': {
      if (typeof input === 'number') return input >= 0 ? { ok: true, value: { value: input, relative: false } } : { ok: false, message: 'must not be negative' };
      const m = PER_TIME_RE.exec(input);
      const per = m?.[2] === undefined ? undefined : PER_SECONDS[m[2]];
      if (m === null || m[1] === undefined || per === undefined) {
        return { ok: false, message: `expected a power per time (5MW/min, 100kW/s) or a share of usable per time (10%/min), got '${input}'` };
      }
      const p = percent(m[1]);
      if (p !== null) return p < 0 ? { ok: false, message: 'must not be negative' } : { ok: true, value: { value: p / per, relative: true } };
      const w = checkPowerWatts(m[1]);
      return w.ok ? { ok: true, value: { value: w.value / per, relative: false } } : w;
    }
    case 'stale_meter':
    case 'time_to_breach': {
      const r = checkConfigDurationMs(input);
      return r.ok ? { ok: true, value: { value: r.value / 1000, relative: false } } : r;
    }
    case 'grid_frequency': {
      if (typeof input === 'number') return input >= 0 ? { ok: true, value: { value: input, relative: false } } : { ok: false, message: 'must not be negative' };
      const m = HERTZ_RE.exec(input);
      return m === null || m[1] === undefined ? { ok: false, message: `expected a deviation from nominal in hertz (0.1Hz), got '${input}'` } : { ok: true, value: { value: Number(m[1]), relative: false } };
    }
  }
}

export interface AlertIssue {
  path: (string | number)[];
  message: string;
}

export function severity(metric: AlertMetric, input: SeverityInput, path: (string | number)[], issues: AlertIssue[]): SeverityThreshold | undefined {
  const atIn = typeof input === 'object' ? input.at : input;
  const clearIn = typeof input === 'object' ? input.clear : undefined;
  const at = parseThreshold(metric, atIn);
  if (!at.ok) {
    issues.push({ path: typeof input === 'object' ? [...path, 'at'] : path, message: at.message });
    return undefined;
  }
  if (clearIn === undefined) return { at: at.value, clear: at.value };
  const clear = parseThreshold(metric, clearIn);
  if (!clear.ok) {
    issues.push({ path: [...path, 'clear'], message: clear.message });
    return undefined;
  }
  if (at.value.relative !== clear.value.relative) {
    issues.push({ path: [...path, 'clear'], message: 'clear must be of the same kind as at (both relative, e.g. %, or both absolute)' });
    return undefined;
  }
  const below = METRIC_DIRECTION[metric] === 'below';
  if (below ? clear.value.value < at.value.value : clear.value.value > at.value.value) {
    issues.push({
      path: [...path, 'clear'],
      message: `${metric} alerts on values ${below ? 'below' : 'above'} the threshold: clear must be ${below ? 'at or above' : 'at or below'} at`,
    });
    return undefined;
  }
  return { at: at.value, clear: clear.value };
}
