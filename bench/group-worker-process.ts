/**
 * A `headroom run` group worker started from the built CLI (dist/) for a bench: its `/status`
 * and `/metrics` on a random loopback port, its CPU time read from /proc (Linux), its stderr
 * tail for error messages. Stopped with SIGKILL: the benches measure nothing after it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { OwnedPartitionStatus } from '../src/pipeline/group/group-worker.js';
import { freePort } from '../tests/helpers/servers.js';

export interface WorkerStatusBody {
  /** Absent until the worker has joined its group. */
  group?: { workerId: string; partitions: OwnedPartitionStatus[] };
}

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS_PER_SECOND = ((): number => {
  const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
  const ticks = Number(text);
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK answered '${text}'`);
  return ticks;
})();

const live = new Set<ChildProcess>();

/** SIGKILLs every worker still running (the bench was interrupted). */
export function killAllWorkers(): void {
  for (const child of live) child.kill('SIGKILL');
}

export class WorkerProcess {
  private stderrTail = '';
  readonly exited: Promise<void>;

  private constructor(
    readonly id: string,
    readonly url: string,
    readonly dataDir: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-4000)));
    live.add(child);
    this.exited = new Promise<void>((r) => child.once('exit', () => (live.delete(child), r())));
  }

  /** Spawns `node <mainJs> run` with the config; NDJSON and other files land in `dataDir`. */
  static async start(opts: { id: string; mainJs: string; cwd: string; config: string; dataDir: string }): Promise<WorkerProcess> {
    const port = await freePort();
    const args = [opts.mainJs, 'run', '--config', opts.config, '--data-dir', opts.dataDir, '--metrics-listen', `127.0.0.1:${port}`, '--worker-id', opts.id, '--no-summary', '--log-level', 'warn'];
    const child = spawn(process.execPath, args, { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    return new WorkerProcess(opts.id, `http://127.0.0.1:${port}`, opts.dataDir, child);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stderr(): string {
    return this.stderrTail;
  }

  async status(): Promise<WorkerStatusBody> {
    const res = await fetch(`${this.url}/status`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${this.id}: /status answered ${res.status}`);
    return (await res.json()) as WorkerStatusBody;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`${this.id}: /metrics answered ${res.status}`);
    return res.text();
  }

  /** User + system CPU seconds of the process so far (all its threads), from /proc/<pid>/stat. */
  cpuSeconds(): number {
    const text = readFileSync(`/proc/${this.child.pid ?? -1}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start with the state, field 3; utime is 14, stime 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / CLOCK_TICKS_PER_SECOND;
  }

  /** Bytes of the worker's results NDJSON so far (0 before the file exists). */
  ndjsonBytes(file = 'results.ndjson'): number {
    try {
      return statSync(join(this.dataDir, file)).size;
    } catch (err: unknown) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return 0;
      throw err;
    }
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Sum of every sample of metric `name` (all label sets) in a /metrics text; 0 when absent. */
export function metricSum(exposition: string, name: string): number {
  let sum = 0;
  for (const m of exposition.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}
