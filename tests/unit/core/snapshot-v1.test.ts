import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadroomConfig } from '../../../src/config/index.js';
import { ALERT_SNAPSHOT_VERSION, AlertEngine, WINDOW_SNAPSHOT_VERSION, WindowEngine } from '../../../src/core/index.js';
import { demoConfig, drain, feed, simulatedStream, type FeedOutput } from '../../helpers/checkpoint-fixture.js';

// Snapshots written by the version 1 (JSON) build still restore: tests/fixtures/snapshots holds
// the window and alert engine snapshots that build took of the demo fleet after the first 350
// messages of simulatedStream(demoConfig(), 40) (see the README there). Restored and fed the
// rest, they give what engines that never stopped give; re-snapshotted, they are version 2.

const CUT = 350;
const fixture = (name: string): Uint8Array => gunzipSync(readFileSync(new URL(`../../fixtures/snapshots/${name}`, import.meta.url)));
const empty = (): FeedOutput => ({ windows: [], alerts: [], readings: 0 });

let config: HeadroomConfig;
let payloads: string[];

beforeAll(() => {
  config = demoConfig();
  payloads = simulatedStream(config, 40).map((m) => m.payload);
});

describe('version 1 snapshots', () => {
  it('are JSON of version 1, and the current build writes version 2', () => {
    for (const name of ['window-engine-v1.json.gz', 'alert-engine-v1.json.gz']) {
      expect((JSON.parse(new TextDecoder().decode(fixture(name))) as { version: unknown }).version, name).toBe(1);
    }
    expect([WINDOW_SNAPSHOT_VERSION, ALERT_SNAPSHOT_VERSION]).toEqual([2, 2]);
  });

  it('restore, and continue exactly like the engines that never stopped', () => {
    const straight = new WindowEngine(config.topology, config.engine);
    const straightAlerts = new AlertEngine(config.topology, config.alerts);
    feed(straight, straightAlerts, payloads.slice(0, CUT));
    // Alert state crosses the cut: some alerts are pending or firing there.
    expect(straightAlerts.activeAlerts().length).toBeGreaterThan(0);
    const restored = WindowEngine.restore(config.topology, config.engine, fixture('window-engine-v1.json.gz'));
    const restoredAlerts = AlertEngine.restore(config.topology, config.alerts, fixture('alert-engine-v1.json.gz'));
    expect(restoredAlerts.activeAlerts()).toEqual(straightAlerts.activeAlerts());
    // Both now write version 2 of the same state.
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(straight.snapshot()))).toBe(true);

    const expected = drain(straight, straightAlerts, feed(straight, straightAlerts, payloads.slice(CUT), empty()));
    const actual = drain(restored, restoredAlerts, feed(restored, restoredAlerts, payloads.slice(CUT), empty()));
    expect(expected.windows.length).toBeGreaterThan(0);
    expect(expected.alerts.length).toBeGreaterThan(0);
    expect(actual.windows).toEqual(expected.windows);
    expect(actual.alerts).toEqual(expected.alerts);
    expect(restored.stats()).toEqual(straight.stats());
  });
});
