/**
 * `headroom run` as a process with an InfluxDB sink that cannot write, stopped with SIGTERM:
 * the stop budget (`--stop-timeout`) holds, what the sink could not deliver is dropped,
 * counted and logged with the number, and the exit code says so (README "Running the
 * service" and "Exit codes": 0 all delivered, 3 records dropped at shutdown, 1 a server that
 * can never work). The servers are real: VictoriaMetrics hung with SIGSTOP (accepts
 * connections, never answers), Debian's influxd 1.6 (no /api/v2/write), and a port where
 * nothing listens.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort, startInfluxdb1, startVictoriaMetrics } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const SUPPORTED = 'InfluxDB 1.8+, 2.x, 3.x or VictoriaMetrics';
const EXIT_DROPPED_AT_SHUTDOWN = 3;
/** What the test allows past the budget for the process to exit (the CLI's backstop is 2 s past it, with exit 1). */
const EXIT_MARGIN_MS = 2_000;

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-e2e-stop-'));
});

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** The demo fleet with an InfluxDB sink at `url`. */
async function configWithInflux(name: string, url: string): Promise<string> {
  const config = parse(await readFile(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;
  config['sinks'] = { influx: { url, org: 'ops', bucket: 'headroom', flushInterval: '200ms', retry: { minDelay: '200ms', maxDelay: '1s' } } };
  const path = join(tmp, `${name}.yaml`);
  await writeFile(path, stringify(config));
  return path;
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
  metricsBase: () => Promise<string>;
}

function runHeadroom(configPath: string, extra: string[]): Running {
  const child = spawn(process.execPath, [mainJs, 'run', '--config', configPath, '--embedded', '--no-summary', '--data-dir', join(tmp, 'data'), '--metrics-listen', '127.0.0.1:0', '--log-level', 'info', ...extra], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
    metricsBase: () => waitFor('the metrics URL on stdout', 30_000, () => /metrics (http:\/\/\S+)\/metrics/.exec(stdout)?.[1] ?? null),
  };
}

/** The value of one sample in a Prometheus text exposition, or null. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

function logEntries(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Window records the pipeline emitted, from the last stdout line. */
function recordsOut(stdout: string): number {
  const m = /headroom: stopped — \d+ readings, (\d+) window records/.exec(stdout);
  if (m === null) throw new Error(`no stop line in: ${stdout}`);
  return Number(m[1]);
}

async function stopAndTime(run: Running): Promise<{ code: number | null; elapsedMs: number }> {
  const startedMs = performance.now();
  run.child.kill('SIGTERM');
  const code = await Promise.race([run.exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
  if (code === 'hung') {
    run.child.kill('SIGKILL');
    throw new Error(`headroom did not exit within 60 s of SIGTERM: ${run.stderr().slice(-2000)}`);
  }
  return { code, elapsedMs: performance.now() - startedMs };
}

describe('SIGTERM with an InfluxDB sink that cannot write', () => {
  it('InfluxDB hung: exits within the stop budget with code 3; every undelivered point is counted and logged', async () => {
    const vm = await startVictoriaMetrics();
    const budgetMs = 3_000;
    const run = runHeadroom(await configWithInflux('hung', vm.url), ['--stop-timeout', '3s']);
    try {
      const base = await run.metricsBase();
      const scrape = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
      await waitFor('points written to VictoriaMetrics', 30_000, async () => ((sample(await scrape(), 'headroom_sink_written_records_total{sink="influx"}') ?? 0) > 0 ? true : null));

      vm.pause();
      // A request timed out after the hang began: the sink sends one request at a time, so
      // nothing sent before can still succeed, and the written count is final.
      const hung = await waitFor('a write request to time out (10 s)', 40_000, async () => {
        const text = await scrape();
        return (sample(text, 'headroom_sink_failures_total{sink="influx",reason="timeout"}') ?? 0) >= 1 ? text : null;
      });
      const written = sample(hung, 'headroom_sink_written_records_total{sink="influx"}') ?? 0;
      expect(written).toBeGreaterThan(0);
      expect((await fetch(`${base}/readyz`)).status).toBe(200); // transient: buffering, still ready

      const { code, elapsedMs } = await stopAndTime(run);
      expect(code, run.stderr().slice(-3000)).toBe(EXIT_DROPPED_AT_SHUTDOWN);
      expect(elapsedMs).toBeLessThan(budgetMs + EXIT_MARGIN_MS);

      const out = recordsOut(run.stdout());
      const entries = logEntries(run.stderr());
      const drops = entries.filter((e) => e.msg === 'influx points dropped');
      expect(drops.map((e) => e.reason)).toEqual(['shutdown']);
      // Every record the pipeline emitted was either written before the hang or dropped now.
      expect(drops[0]?.points).toBe(out - written);
      const stopped = entries.find((e) => typeof e.msg === 'string' && e.msg.startsWith('pipeline stopped'));
      expect(stopped?.msg).toBe(`pipeline stopped; ${out - written} records dropped at shutdown`);
      expect(stopped?.droppedAtShutdown).toEqual({ influx: out - written });
      // Measured, for the report.
      console.info(JSON.stringify({ budgetMs, sigtermToExitMs: Math.round(elapsedMs), recordsOut: out, written, droppedAtShutdown: drops[0]?.points }));
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await vm.stop();
    }
  }, 150_000);

  it('InfluxDB healthy: SIGTERM delivers everything and exits 0', async () => {
    const vm = await startVictoriaMetrics();
    const run = runHeadroom(await configWithInflux('healthy', vm.url), ['--stop-timeout', '5s']);
    try {
      const base = await run.metricsBase();
      await waitFor('points written', 30_000, async () => ((sample(await (await fetch(`${base}/metrics`)).text(), 'headroom_sink_written_records_total{sink="influx"}') ?? 0) > 0 ? true : null));
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const { code } = await stopAndTime(run);
      expect(code, run.stderr().slice(-3000)).toBe(0);
      const entries = logEntries(run.stderr());
      expect(entries.filter((e) => e.msg === 'influx points dropped')).toEqual([]);
      expect(entries.find((e) => e.msg === 'pipeline stopped')).toMatchObject({ droppedAtShutdown: {}, records: recordsOut(run.stdout()) });
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await vm.stop();
    }
  }, 120_000);

  it('InfluxDB not there since start: /readyz 503 meanwhile; SIGTERM drops at once, code 3', async () => {
    const port = await freePort();
    const run = runHeadroom(await configWithInflux('down', `http://127.0.0.1:${port}`), ['--stop-timeout', '30s']);
    try {
      const base = await run.metricsBase();
      const readyz = await waitFor('records for the sink', 30_000, async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        if ((sample(text, 'headroom_sink_buffered_records{sink="influx"}') ?? 0) === 0) return null;
        const res = await fetch(`${base}/readyz`);
        return { status: res.status, body: await res.text() };
      });
      expect(readyz.status).toBe(503);
      expect(readyz.body).toContain(`sink influx not ready: InfluxDB at http://127.0.0.1:${port} not reached yet`);

      const { code, elapsedMs } = await stopAndTime(run);
      expect(code, run.stderr().slice(-3000)).toBe(EXIT_DROPPED_AT_SHUTDOWN);
      // Nothing to wait for: far less than the 30 s budget.
      expect(elapsedMs).toBeLessThan(15_000);
      const drops = logEntries(run.stderr()).filter((e) => e.msg === 'influx points dropped');
      expect(drops).toHaveLength(1);
      expect(drops[0]).toMatchObject({ reason: 'shutdown', points: recordsOut(run.stdout()) });
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  }, 120_000);

  it("Debian's InfluxDB 1.6: start-up stops with one line naming the version and what is needed, exit 1", async () => {
    const influx = await startInfluxdb1();
    try {
      const version = (await fetch(`${influx.url}/ping`)).headers.get('x-influxdb-version') ?? '';
      const configPath = await configWithInflux('v16', influx.url);
      const result = await new Promise<{ code: number | null; stderr: string }>((resolvePromise) => {
        execFile(process.execPath, [mainJs, 'run', '--config', configPath, '--embedded', '--no-summary', '--data-dir', join(tmp, 'data16'), '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'], { cwd: repoRoot, timeout: 60_000 }, (err, _stdout, stderr) => {
          resolvePromise({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
        });
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`headroom: sinks.influx.url: ${influx.url} is InfluxDB ${version}, which has no /api/v2/write`);
      expect(lines[0]).toContain(SUPPORTED);
    } finally {
      await influx.stop();
    }
  }, 90_000);
});
