/**
 * `headroom run` when NATS is not up yet, as an operator (or Kubernetes) sees it: the worker
 * process waits with its metrics listener up (/healthz 200, /readyz 503 with the reason),
 * connects when a real nats-server appears on the port, and stops promptly on SIGTERM
 * meanwhile. `--fail-fast` exits 1 with one line instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort, retryUntil, startNats } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const STACK_FRAME = /^\s+at /m;
const WAITING_LOG = 'NATS not reachable; waiting for it (retrying with backoff)';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-e2e-nats-startup-'));
});
afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

interface Worker {
  child: ChildProcess;
  exit: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

function startWorker(configPath: string, extra: string[] = []): Worker {
  const child = spawn(process.execPath, [mainJs, 'run', '--config', configPath, ...extra], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

/** The minimal config with the given sections replaced. */
async function writeConfig(name: string, sections: Record<string, unknown>): Promise<string> {
  const config = parse(await readFile(join(repoRoot, 'config/minimal.yaml'), 'utf8')) as Record<string, unknown>;
  const path = join(tmp, name);
  await writeFile(path, stringify({ ...config, ...sections }));
  return path;
}

async function probe(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.text() };
}

/** stderr lines that are not JSON log lines: what a person reads. */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
}

describe('headroom run before NATS is up', () => {
  it('waits with /readyz 503 and the reason, logs the wait once, connects when the server appears, exits 0 on SIGTERM', async () => {
    const natsPort = await freePort();
    const metricsPort = await freePort();
    const config = await writeConfig('late-nats.yaml', {
      source: { kind: 'nats' },
      nats: { servers: [`nats://127.0.0.1:${natsPort}`] },
      sinks: { metrics: { listen: `127.0.0.1:${metricsPort}` } },
    });
    const worker = startWorker(config, ['--log-level', 'info']);
    const base = `http://127.0.0.1:${metricsPort}`;
    try {
      const notReady = await retryUntil(async () => {
        const r = await probe(`${base}/readyz`);
        // At least two attempts failed: the wait is logged once, not per attempt.
        if (r.status !== 503 || !/attempt [2-9]/.test(r.body)) throw new Error(`readyz ${r.status} ${r.body}`);
        return r;
      }, 60_000, 200);
      expect(notReady.body).toMatch(new RegExp(`^not ready: waiting for NATS at nats://127\\.0\\.0\\.1:${natsPort}: connection refused \\(attempt \\d+\\)\\n$`));
      expect((await probe(`${base}/healthz`)).status).toBe(200);
      expect((await probe(`${base}/metrics`)).body).toContain('process_cpu');

      const server = await startNats({ jetstream: false, port: natsPort });
      try {
        await retryUntil(async () => {
          const r = await probe(`${base}/readyz`);
          if (r.status !== 200) throw new Error(`readyz ${r.status} ${r.body}`);
        }, 60_000, 200);
        await retryUntil(async () => {
          if (!worker.stdout().includes('headroom: running')) throw new Error('not running yet');
        }, 30_000, 100);
        worker.child.kill('SIGTERM');
        expect(await worker.exit).toBe(0);
      } finally {
        await server.stop();
      }
      const msgs = worker
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs.filter((m) => m === WAITING_LOG)).toHaveLength(1);
      expect(msgs).toContain('connected to NATS');
      expect(worker.stderr()).not.toMatch(STACK_FRAME);
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  it('the NATS results sink of a memory source waits too, and SIGTERM while waiting exits 0', async () => {
    const natsPort = await freePort();
    const metricsPort = await freePort();
    const config = await writeConfig('results-wait.yaml', {
      source: { kind: 'memory' },
      nats: { servers: [`nats://127.0.0.1:${natsPort}`] },
      sinks: { metrics: { listen: `127.0.0.1:${metricsPort}` }, natsResults: { enabled: true } },
    });
    const worker = startWorker(config, ['--log-level', 'info']);
    try {
      await retryUntil(async () => {
        const r = await probe(`http://127.0.0.1:${metricsPort}/readyz`);
        if (r.status !== 503 || !r.body.includes(`waiting for NATS at nats://127.0.0.1:${natsPort}`)) throw new Error(`readyz ${r.status} ${r.body}`);
      }, 60_000, 200);
      worker.child.kill('SIGTERM');
      // Bounded, not timed: a worker that kept waiting would never exit.
      const code = await Promise.race([worker.exit, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000))]);
      expect(code).toBe(0);
      expect(plainLines(worker.stderr())).toEqual([`headroom: stopped while waiting for NATS at nats://127.0.0.1:${natsPort}`]);
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  it('--fail-fast exits 1 with one line naming the server, the problem and the fix', async () => {
    const natsPort = await freePort();
    const config = await writeConfig('fail-fast.yaml', { source: { kind: 'nats' }, nats: { servers: [`nats://127.0.0.1:${natsPort}`] } });
    const worker = startWorker(config, ['--fail-fast']);
    expect(await worker.exit).toBe(1);
    expect(plainLines(worker.stderr())).toEqual([`headroom: cannot connect to NATS at nats://127.0.0.1:${natsPort}: connection refused; start the server, or correct nats.servers`]);
    expect(worker.stderr()).not.toMatch(STACK_FRAME);
  });
});
