/**
 * `headroom status -c CONFIG` against a real nats-server: two group members (in this
 * process) share 6 partitions; the CLI prints both workers, every partition with its owner
 * and token, and the same as JSON. Without a group in the config it is a config error (2).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupStatus } from '../../src/pipeline/group/index.js';
import { coversOnce, GroupProbe, waitUntil } from '../helpers/group-probe.js';
import { startNats, type NatsServer } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const run = promisify(execFile);
const P = 6;

let server: NatsServer;
let dir: string;
const probes: GroupProbe[] = [];

beforeAll(async () => {
  server = await startNats({ jetstream: true });
  dir = mkdtempSync(join(tmpdir(), 'headroom-group-status-'));
});

afterAll(async () => {
  await Promise.all(probes.map((p) => p.close()));
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, `nats: { servers: ["${server.url}"] }\nsource: ${source}\nsites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]\n`);
  return file;
}

describe('headroom status', () => {
  it('prints workers, partitions, owners and lease expiry of the group, as a table and as JSON', async () => {
    const timing = { leaseMs: 10_000, heartbeatMs: 1_000, safetyMarginMs: 2_000 };
    for (const id of ['alpha', 'beta']) probes.push(await GroupProbe.start([server.url], 'headroom-group-hall', id, P, timing, 1));
    await waitUntil('3/3', () => probes.every((p) => p.owned().length === 3) && coversOnce(probes, P));
    const config = writeConfig('group.yaml', `{ kind: jetstream, partitions: { count: ${P} }, group: { name: hall, lease: 10s, heartbeat: 1s } }`);

    const { stdout } = await run(process.execPath, [mainJs, 'status', '-c', config], { cwd: repoRoot, timeout: 30_000 });
    expect(stdout).toContain('group hall (bucket headroom-group-hall): 2 worker(s), 6/6 partitions owned');
    for (const probe of probes) {
      for (const p of probe.owned()) expect(stdout).toMatch(new RegExp(`^${p}\\s+${probe.workerId}\\s+\\d+\\s+in \\d+\\.\\ds`, 'm'));
      expect(stdout).toMatch(new RegExp(`^${probe.workerId}\\s+\\S+\\s+${process.pid}\\s+${probe.owned().join(',')}\\s`, 'm'));
    }

    const json = await run(process.execPath, [mainJs, 'status', '-c', config, '--json'], { cwd: repoRoot, timeout: 30_000 });
    const status = JSON.parse(json.stdout) as GroupStatus;
    expect(status.workers.map((w) => [w.workerId, w.partitions, w.live])).toEqual(probes.map((p) => [p.workerId, p.owned(), true]));
    for (const probe of probes) {
      for (const { partition, token } of probe.member.owned()) {
        const row = status.partitions[partition];
        expect(row?.owner).toBe(probe.workerId);
        expect(row?.token).toBe(token);
        expect(row?.expiresAtMs ?? 0).toBeGreaterThan(status.readAtMs);
        expect(row?.expiresAtMs ?? Infinity).toBeLessThanOrEqual(status.readAtMs + timing.leaseMs);
      }
    }
  });

  it('a config without a group is a config error (exit 2) naming source.group', async () => {
    const config = writeConfig('nogroup.yaml', '{ kind: jetstream }');
    const failed = await run(process.execPath, [mainJs, 'status', '-c', config], { cwd: repoRoot, timeout: 30_000 }).then(
      () => undefined,
      (err: unknown) => err as { code?: number; stderr?: string },
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain('source.group');
  });
});
