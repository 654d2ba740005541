/**
 * End to end over a real nats-server: `headroom simulate --to nats` and `headroom run` as
 * separate processes, as an operator runs them. The worker's results must equal a replay of
 * the same simulated stream (same seed, start and duration) written to a file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { OutputRecord, WindowResult } from '../../src/domain/index.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';
import { finalWindows } from '../helpers/final-windows.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const execFileAsync = promisify(execFile);
const SIM_ARGS = ['--seed', '11', '--start', '2026-01-05T12:00:00Z', '--duration', '3m', '--speed', 'max'];

let server: NatsServer;
let tmp: string;
let configPath: string;

beforeAll(async () => {
  server = await startNats({ jetstream: true });
  tmp = await mkdtemp(join(tmpdir(), 'headroom-e2e-nats-'));
  const config = parse(await readFile(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;
  config['source'] = { kind: 'jetstream', stream: { name: 'E2E' }, consumer: { durable: 'e2e-worker', expires: '1s' } };
  config['nats'] = { servers: [server.url] };
  config['sinks'] = { ndjson: { path: join(tmp, 'live.ndjson') } };
  // No faults: meters report every tick, so the live watermark moves as the replayed one does.
  config['simulator'] = { seed: 11, rate: '1s', batch: true, faults: { dropout: 0, flatline: 0, spike: 0, sentinel: 0, clockSkew: 0, duplicate: 0, outOfOrder: 0, lateBurst: 0 } };
  delete config['alerts'];
  configPath = join(tmp, 'config.yaml');
  await writeFile(configPath, stringify(config));
});

afterAll(async () => {
  await server?.stop();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function finals(text: string): Map<string, WindowResult> {
  return finalWindows(text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as OutputRecord | { type: 'summary' }));
}

describe('simulate → NATS JetStream → run', () => {
  it('the worker process computes what a replay of the same stream computes', async () => {
    const worker = spawn(process.execPath, [mainJs, 'run', '--config', configPath, '--log-level', 'warn'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    worker.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const workerExit = exited(worker);
    await retryUntil(async () => {
      if (!stdout.includes('running')) throw new Error(`worker not up: ${stderr}`);
    }, 30_000, 100);

    const sim = await execFileAsync(process.execPath, [mainJs, 'simulate', '--config', configPath, '--to', 'nats', ...SIM_ARGS], { cwd: repoRoot });
    const published = /(\d[\d,]*) readings/.exec(sim.stdout + sim.stderr);
    expect(published, sim.stdout + sim.stderr).not.toBeNull();

    // Wait until the worker has acknowledged the whole stream.
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await nc.jetstreamManager();
      await retryUntil(async () => {
        const info = await jsm.consumers.info('E2E', 'e2e-worker');
        if (info.num_pending > 0 || info.num_ack_pending > 0 || info.delivered.stream_seq === 0) throw new Error(`pending ${info.num_pending}, unacked ${info.num_ack_pending}`);
      }, 60_000, 200);
    } finally {
      await nc.close();
    }
    worker.kill('SIGTERM');
    expect(await workerExit, stderr).toBe(0);

    // The same stream, to a file, replayed.
    const file = join(tmp, 'stream.ndjson');
    await execFileAsync(process.execPath, [mainJs, 'simulate', '--config', configPath, '--to', file, ...SIM_ARGS], { cwd: repoRoot });
    const replayed = join(tmp, 'replayed.ndjson');
    await execFileAsync(process.execPath, [mainJs, 'replay', '--quiet', '--config', configPath, '--output', replayed, file], { cwd: repoRoot });

    const live = finals(await readFile(join(tmp, 'live.ndjson'), 'utf8'));
    const reference = finals(await readFile(replayed, 'utf8'));
    expect(reference.size).toBeGreaterThan(500);
    expect([...live.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [key, want] of reference) {
      const got = live.get(key)!;
      if (want.type !== 'node' || got.type !== 'node') continue;
      expect(Math.abs(got.loadWatts - want.loadWatts), key).toBeLessThanOrEqual(2e-6 + 1e-12 * Math.abs(want.loadWatts));
      expect(Math.abs(got.headroomWatts - want.headroomWatts), key).toBeLessThanOrEqual(2e-6 + 1e-12 * Math.abs(want.headroomWatts));
      expect(got.completeness).toBe(want.completeness);
    }
  }, 180_000);
});
