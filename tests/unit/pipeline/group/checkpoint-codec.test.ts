import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadroomConfig } from '../../../../src/config/index.js';
import { WindowEngine } from '../../../../src/core/index.js';
import { AlertEngine } from '../../../../src/core/alerts/index.js';
import {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointCorruptError,
  CheckpointMismatchError,
  CheckpointVersionError,
  restoreFromCheckpoint,
  takeCheckpoint,
  type Checkpoint,
} from '../../../../src/pipeline/group/checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../../../src/pipeline/group/checkpoint-codec.js';
import { partitionTopology } from '../../../../src/pipeline/group/partition-map.js';
import { demoConfig, drain, feed, simulatedStream } from '../../../helpers/checkpoint-fixture.js';

const PARTITIONS = 2;
let config: HeadroomConfig;
let payloads: string[];

beforeAll(() => {
  config = demoConfig();
  payloads = simulatedStream(config, 40).map((m) => m.payload);
});

function scope(partition: number) {
  return { group: 'g', partition, partitionCount: PARTITIONS, stream: 'TELEMETRY' };
}

/** A checkpoint of partition `p` after the first `n` messages (lastSeq = n, as if message i had sequence i + 1). */
function checkpointAfter(p: number, n: number): Checkpoint {
  const topology = partitionTopology(config.topology, p, PARTITIONS);
  const engine = new WindowEngine(topology, config.engine);
  const alerts = new AlertEngine(topology, config.alerts);
  feed(engine, alerts, payloads.slice(0, n));
  return takeCheckpoint({ ...scope(p), engine, alerts, lastSeq: n, takenAtMs: 1_767_000_000_000, workerId: 'w-1' });
}

/** The digest as the layout documents it: SHA-256 of bytes 4..11 and the body from byte 44. */
function resign(bytes: Uint8Array): Uint8Array {
  const out = Buffer.from(bytes);
  out.set(createHash('sha256').update(out.subarray(4, 12)).update(out.subarray(44)).digest(), 12);
  return out;
}

/** Same fields, same bytes (typed arrays compared as buffers: vitest's deep equality is slow on 400 kB). */
function expectSame(actual: Checkpoint, expected: Checkpoint): void {
  const { engine: e1, alerts: a1, ...rest1 } = actual;
  const { engine: e2, alerts: a2, ...rest2 } = expected;
  expect(rest1).toEqual(rest2);
  expect(Buffer.from(e1).equals(Buffer.from(e2))).toBe(true);
  expect(a1 === null ? null : Buffer.from(a1).toString('base64')).toBe(a2 === null ? null : Buffer.from(a2).toString('base64'));
}

describe('checkpoint encoding', () => {
  it('round-trips every field and both snapshots byte for byte', async () => {
    const cp = checkpointAfter(0, 25);
    expect(cp.sites.length).toBeGreaterThan(0);
    const decoded = await decodeCheckpoint(await encodeCheckpoint(cp));
    expectSame(decoded, cp);
    expect(decoded.formatVersion).toBe(CHECKPOINT_FORMAT_VERSION);
    const raw = await decodeCheckpoint(await encodeCheckpoint(cp, { compress: 'never' }));
    expectSame(raw, cp);
    const noAlerts = { ...cp, alerts: null };
    expectSame(await decodeCheckpoint(await encodeCheckpoint(noAlerts)), noAlerts);
  });

  it('gzips when it pays: the stored body inflates to the uncompressed body', async () => {
    const cp = checkpointAfter(1, 25);
    const zipped = Buffer.from(await encodeCheckpoint(cp));
    const plain = Buffer.from(await encodeCheckpoint(cp, { compress: 'never' }));
    expect(zipped[5]! & 1).toBe(1);
    expect(plain[5]! & 1).toBe(0);
    expect(zipped.length).toBeLessThan(plain.length);
    expect(gunzipSync(zipped.subarray(44)).equals(plain.subarray(44))).toBe(true);
    // Binary-safe: arbitrary bytes (not JSON, not UTF-8) survive.
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 251) % 256);
    const odd = { ...cp, engine: bytes, alerts: bytes.slice(7) };
    expectSame(await decodeCheckpoint(await encodeCheckpoint(odd)), odd);
  });

  it('refuses every truncation and every flipped byte with CheckpointCorruptError', async () => {
    const bytes = await encodeCheckpoint(checkpointAfter(0, 10));
    const cuts = [0, 3, 43, 44, 45, Math.floor(bytes.length / 2), bytes.length - 1];
    for (const cut of cuts) await expect(decodeCheckpoint(bytes.subarray(0, cut)), `cut at ${cut}`).rejects.toBeInstanceOf(CheckpointCorruptError);
    const longer = Buffer.concat([bytes, Buffer.from([0])]);
    await expect(decodeCheckpoint(longer)).rejects.toBeInstanceOf(CheckpointCorruptError);
    // Every byte of the prefix but the reserved ones, then a spread through the body.
    const positions = [...Array.from({ length: 44 }, (_, i) => i).filter((i) => i !== 6 && i !== 7), ...Array.from({ length: 64 }, (_, k) => 44 + Math.floor(((bytes.length - 45) * k) / 63))];
    for (const at of positions) {
      const flipped = Buffer.from(bytes);
      flipped[at] = flipped[at]! ^ 0x10;
      await expect(decodeCheckpoint(flipped), `byte ${at}`).rejects.toBeInstanceOf(CheckpointCorruptError);
    }
  });

  it('refuses another format version (checksum intact) with CheckpointVersionError', async () => {
    const bytes = Buffer.from(await encodeCheckpoint(checkpointAfter(0, 5)));
    bytes[4] = CHECKPOINT_FORMAT_VERSION + 1;
    await expect(decodeCheckpoint(resign(bytes))).rejects.toBeInstanceOf(CheckpointVersionError);
  });
});

describe('take and restore', () => {
  it('a restored partition continues exactly like the uninterrupted one', () => {
    for (let p = 0; p < PARTITIONS; p++) {
      const topology = partitionTopology(config.topology, p, PARTITIONS);
      const target = { ...scope(p), topology, settings: config.engine, alerts: config.alerts };
      const whole = new WindowEngine(topology, config.engine);
      const wholeAlerts = new AlertEngine(topology, config.alerts);
      const reference = drain(whole, wholeAlerts, feed(whole, wholeAlerts, payloads));

      const first = new WindowEngine(topology, config.engine);
      const firstAlerts = new AlertEngine(topology, config.alerts);
      const split = feed(first, firstAlerts, payloads.slice(0, 17));
      const cp = takeCheckpoint({ ...scope(p), engine: first, alerts: firstAlerts, lastSeq: 17, takenAtMs: 0, workerId: 'w' });
      const restored = restoreFromCheckpoint(cp, target);
      expect(restored.nextSeq).toBe(18);
      drain(restored.engine, restored.alerts, feed(restored.engine, restored.alerts, payloads.slice(17), split));
      expect(split.readings).toBe(reference.readings);
      expect(split.windows.length).toBeGreaterThan(0);
      expect(split.alerts.length).toBeGreaterThan(0);
      expect(split.windows).toEqual(reference.windows);
      expect(split.alerts).toEqual(reference.alerts);
    }
  });

  it('refuses a checkpoint of another scope or site set with CheckpointMismatchError', () => {
    const cp = checkpointAfter(0, 5);
    const topology = partitionTopology(config.topology, 0, PARTITIONS);
    const good = { ...scope(0), topology, settings: config.engine, alerts: config.alerts };
    expect(() => restoreFromCheckpoint(cp, good)).not.toThrow();
    expect(() => restoreFromCheckpoint(cp, { ...good, partition: 1 })).toThrow(CheckpointMismatchError);
    expect(() => restoreFromCheckpoint(cp, { ...good, stream: 'OTHER' })).toThrow(CheckpointMismatchError);
    expect(() => restoreFromCheckpoint(cp, { ...good, group: 'h' })).toThrow(CheckpointMismatchError);
    expect(() => restoreFromCheckpoint(cp, { ...good, topology: partitionTopology(config.topology, 1, PARTITIONS) })).toThrow(CheckpointMismatchError);
    // Same sites, other windows: the engine's SnapshotError becomes the cause.
    const otherWindows = { ...good, settings: { ...config.engine, windowsMs: [30_000] } };
    let caught: unknown;
    try {
      restoreFromCheckpoint(cp, otherWindows);
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CheckpointMismatchError);
    expect((caught as Error).cause).toBeInstanceOf(Error);
  });
});
