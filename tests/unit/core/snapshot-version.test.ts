import { describe, expect, it } from 'vitest';
import { ALERT_SNAPSHOT_VERSION, AlertEngine, SnapshotError, WINDOW_SNAPSHOT_VERSION, WindowEngine } from '../../../src/core/index.js';
import type { AlertsConfig } from '../../../src/core/alerts/index.js';
import type { WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

// Snapshots carry a format version: a restore reads only the versions it knows and refuses
// any other with SnapshotError, for the window engine and the alert engine alike.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const TOPOLOGY = topo(site('s1', [node('pdu', null, 10_000, ['m1', 'm2'])]));
const ALERTS: AlertsConfig = { revisions: 'final', allowedLatenessMs: baseSettings.allowedLatenessMs, trendWindows: baseSettings.trendWindows, rules: [] };

// Snapshots are binary from version 2 on (magic, then the version as u16 little-endian at
// byte 4): decode reads the version and keeps the bytes; encode writes them back with the
// version given, or, for a version no header can hold, as the JSON envelope of version 1.
interface Decoded {
  version: unknown;
  bytes: Uint8Array;
}
const decode = (bytes: Uint8Array): Record<string, unknown> & Decoded => ({ version: new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true), bytes });
const encode = (state: Decoded): Uint8Array => {
  const { version, bytes } = state;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > 0xffff) return new TextEncoder().encode(JSON.stringify({ version }));
  const out = bytes.slice();
  new DataView(out.buffer).setUint16(4, version, true);
  return out;
};

/** A window engine fed 40 s of two meters at 1 Hz (advanced as it goes). */
function fedEngine(): { engine: WindowEngine; results: WindowResult[] } {
  const engine = new WindowEngine(TOPOLOGY, baseSettings);
  const results: WindowResult[] = [];
  for (let s = 0; s < 40; s++) {
    const tsMs = T0 + s * 1000;
    engine.record(r('m1', tsMs, 1000 + s), tsMs);
    engine.record(r('m2', tsMs, 2000 - s), tsMs);
    results.push(...engine.advance(tsMs));
  }
  return { engine, results };
}

describe('snapshot format version', () => {
  it('the window engine writes its version and refuses another one, or none', () => {
    const { engine } = fedEngine();
    const state = decode(engine.snapshot());
    expect(state['version']).toBe(WINDOW_SNAPSHOT_VERSION);
    for (const version of [WINDOW_SNAPSHOT_VERSION + 1, 0, '1', null, undefined]) {
      const bytes = encode({ ...state, version });
      expect(() => WindowEngine.restore(TOPOLOGY, baseSettings, bytes), String(version)).toThrow(SnapshotError);
      expect(() => WindowEngine.restore(TOPOLOGY, baseSettings, bytes), String(version)).toThrow(/format version/);
    }
  });

  it('the alert engine writes its version and refuses another one', () => {
    const engine = new AlertEngine(TOPOLOGY, ALERTS);
    const state = decode(engine.snapshot());
    expect(state['version']).toBe(ALERT_SNAPSHOT_VERSION);
    expect(() => AlertEngine.restore(TOPOLOGY, ALERTS, encode(state))).not.toThrow();
    const bytes = encode({ ...state, version: ALERT_SNAPSHOT_VERSION + 1 });
    expect(() => AlertEngine.restore(TOPOLOGY, ALERTS, bytes)).toThrow(SnapshotError);
    expect(() => AlertEngine.restore(TOPOLOGY, ALERTS, bytes)).toThrow(/format version/);
  });

  it('a snapshot of the current version restores, and the restored engine continues like the one that never stopped', () => {
    const straight = fedEngine();
    const cut = fedEngine();
    const restored = WindowEngine.restore(TOPOLOGY, baseSettings, cut.engine.snapshot());
    const more = (engine: WindowEngine): WindowResult[] => {
      const out: WindowResult[] = [];
      for (let s = 40; s < 80; s++) {
        const tsMs = T0 + s * 1000;
        engine.record(r('m1', tsMs, 1000 + s), tsMs);
        engine.record(r('m2', tsMs, 2000 - s), tsMs);
        out.push(...engine.advance(tsMs));
      }
      return [...out, ...engine.drain()];
    };
    const expected = more(straight.engine);
    expect(expected.length).toBeGreaterThan(0);
    expect(more(restored)).toEqual(expected);
    expect(restored.stats()).toEqual(straight.engine.stats());
  });
});
