/**
 * `$NATS_URL` is honoured alike by every command that reaches NATS without a config `nats`
 * section: here `simulate --to nats` with the demo fleet (a memory-source config), against a
 * real nats-server on a random port, checked by a subscriber on that server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NatsConnection } from 'nats';
import type { NatsServer } from '../helpers/servers.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const run = promisify(execFile);

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: false }));
});

afterAll(() => stopNatsWithClient(server, nc));

describe('NATS_URL', () => {
  it('simulate --to nats publishes to $NATS_URL when the config has no nats section', async () => {
    let received = 0;
    const sub = nc.subscribe('telemetry.>', { callback: () => void received++ });
    await nc.flush();
    const args = [mainJs, 'simulate', '--config', 'config/demo-fleet.yaml', '--to', 'nats', '--duration', '20s', '--speed', 'max', '--seed', '5', '--start', '2026-01-01T00:00:00Z', '--log-level', 'warn'];
    const { stderr } = await run(process.execPath, args, { cwd: repoRoot, env: { ...process.env, NATS_URL: server.url }, timeout: 60_000 });
    const report = /(\d+) messages/.exec(stderr);
    expect(report, stderr).not.toBeNull();
    const published = Number(report![1]);
    expect(published).toBeGreaterThan(0);
    // The CLI drained its connection before exiting; one round trip delivers what is in flight.
    const deadline = performance.now() + 20_000;
    while (received < published && performance.now() < deadline) await nc.flush();
    sub.unsubscribe();
    expect(received).toBe(published);
  });
});
