/**
 * The CLI as a user runs it: `node dist/cli/main.js …` (built once in beforeAll), checked
 * through its real outputs: the /metrics endpoint, the results NDJSON, exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const demoConfig = join(repoRoot, 'config/demo-fleet.yaml');
const run = promisify(execFile);

let tmp: string;

// dist/ is built once for the whole run by tests/global-setup.ts.
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-e2e-'));
});

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exited(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('headroom run --embedded', () => {
  it('serves /metrics for the demo fleet, writes results, and exits 0 on SIGINT', async () => {
    const dataDir = join(tmp, 'run-data');
    const child = spawn(process.execPath, [mainJs, 'run', '--config', demoConfig, '--embedded', '--data-dir', dataDir, '--metrics-listen', '127.0.0.1:0', '--summary-interval', '1s'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = exited(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      const metricsUrl = await waitFor('the metrics URL on stdout', 15_000, () => /metrics (http:\/\/\S+\/metrics)/.exec(stdout)?.[1] ?? null);
      const base = metricsUrl.replace(/\/metrics$/, '');
      const text = await waitFor('node load series of all three sites', 8_000, async () => {
        const body = await (await fetch(metricsUrl)).text();
        return ['ash1', 'dfw2', 'fra3'].every((s) => body.includes(`headroom_node_load_watts{site="${s}",node="intake"`)) ? body : null;
      });
      expect(text).toMatch(/^headroom_node_load_watts\{site="ash1",node="intake",level="grid",window="10s"\} \d/m);
      expect(text).toMatch(/^headroom_readings_total\{outcome="accepted"\} [1-9]/m);
      expect(text).toMatch(/^headroom_site_pue_ratio\{site="ash1",window="10s"\} \d/m);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      // Not a TTY: plain summary lines.
      await waitFor('a summary line', 5_000, () => (/site ash1, latest 10s window: load \d/.test(stdout) ? true : null));
      expect(stdout).not.toContain('\x1b[');
    } finally {
      child.kill('SIGINT');
    }
    const result = await Promise.race([exit, new Promise<Exit>((r) => setTimeout(() => r({ code: -1, signal: null }), 15_000))]);
    if (result.code === -1) child.kill('SIGKILL');
    expect(result, stderr.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(stdout).toMatch(/headroom: stopped — \d+ readings, \d+ window records/);

    const lines = (await readFile(join(dataDir, 'results.ndjson'), 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    const records = lines.map((l) => JSON.parse(l) as { type: string; site: string });
    for (const site of ['ash1', 'dfw2', 'fra3']) expect(records.some((r) => r.type === 'node' && r.site === site)).toBe(true);
    expect(records.some((r) => r.type === 'site')).toBe(true);
  });
});

describe('headroom simulate → replay', () => {
  it('writes 2 minutes of a seeded fleet as NDJSON as fast as possible, and replay reads all of it', async () => {
    const readings = join(tmp, 'sim', 'readings.ndjson');
    const args = ['simulate', '--config', demoConfig, '--to', readings, '--duration', '2m', '--speed', 'max', '--seed', '3', '--start', '2026-01-01T00:00:00Z', '--log-level', 'warn'];
    const sim = await run(process.execPath, [mainJs, ...args], { cwd: repoRoot });
    const report = /120 ticks, (\d+) messages, (\d+) readings \((\d+) readings\/s, (\d+) messages\/s\); faults: /.exec(sim.stderr);
    expect(report, sim.stderr).not.toBeNull();
    const simulatedReadings = Number(report![2]);
    const lines = (await readFile(readings, 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(Number(report![1]));

    // Same seed, same bytes.
    const again = join(tmp, 'sim', 'again.ndjson');
    await run(process.execPath, [mainJs, ...args.map((a) => (a === readings ? again : a))], { cwd: repoRoot });
    expect(await readFile(again, 'utf8')).toBe(await readFile(readings, 'utf8'));

    const out = join(tmp, 'sim', 'results.ndjson');
    await run(process.execPath, [mainJs, 'replay', '--config', demoConfig, '-o', out, readings], { cwd: repoRoot });
    const results = (await readFile(out, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; readings?: number });
    expect(results.filter((r) => r.type === 'node').length).toBeGreaterThan(100);
    const summary = results.find((r) => r.type === 'summary');
    expect(summary?.readings).toBe(simulatedReadings);
  });

  it('rejects a bad --speed with exit code 2', async () => {
    const err = await run(process.execPath, [mainJs, 'simulate', '--config', demoConfig, '--to', join(tmp, 'x.ndjson'), '--speed', 'fast'], { cwd: repoRoot }).then(
      () => null,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain('--speed');
  });
});
