/**
 * The results NDJSON of a real `headroom run` (the built CLI: run `npm run build` first)
 * across a SIGKILL and restarts: the complete lines of a killed run all parse; a restart
 * appends (a torn last line is cut first) so the file holds both runs and every line parses;
 * `--truncate-results` starts from an empty file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseNdjsonResults } from '../helpers/ndjson-results.js';
import { retryUntil } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const demoConfig = join(repoRoot, 'config/demo-fleet.yaml');

let tmp = '';
const children = new Set<ChildProcess>();

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-ndjson-restart-'));
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
});

interface Worker {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(dataDir: string, extra: string[] = []): Worker {
  const args = [mainJs, 'run', '--config', demoConfig, '--embedded', '--data-dir', dataDir, '--metrics-listen', '127.0.0.1:0', '--no-summary', '--backfill', '2m', '--log-level', 'warn', ...extra];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      r({ code, signal });
    }),
  );
  return { child, stderr: () => stderr, exit };
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    },
  );
}

async function grownPast(path: string, bytes: number): Promise<void> {
  await retryUntil(async () => {
    const size = await sizeOf(path);
    if (size <= bytes) throw new Error(`${path}: ${size} bytes, waiting for more than ${bytes}`);
  }, 45_000, 50);
}

async function stopped(w: Worker): Promise<void> {
  w.child.kill('SIGINT');
  const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref());
  const outcome = await Promise.race([w.exit, bound]);
  expect(outcome, w.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
}

/** The complete lines (each ended by "\n") of the text, and what follows the last "\n". */
function split(text: string): { complete: string[]; tail: string } {
  const end = text.lastIndexOf('\n');
  return { complete: end < 0 ? [] : text.slice(0, end).split('\n'), tail: text.slice(end + 1) };
}

describe('results NDJSON across SIGKILL and restarts', () => {
  it('killed mid-stream: complete lines parse; a restart cuts a torn tail and appends; --truncate-results starts empty', async () => {
    const dataDir = join(tmp, 'data');
    const results = join(dataDir, 'results.ndjson');

    // 1. SIGKILL while results are being written.
    const first = startWorker(dataDir);
    await grownPast(results, 0);
    first.child.kill('SIGKILL');
    expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' });
    const killedText = await readFile(results, 'utf8');
    const killed = split(killedText);
    expect(killed.complete.length).toBeGreaterThan(0);
    for (const line of killed.complete) expect(() => JSON.parse(line) as unknown).not.toThrow();
    // The tests' results reader takes the file as it is, a torn last line skipped and counted.
    const read = parseNdjsonResults(killedText);
    expect(read.records).toHaveLength(killed.complete.length + (read.tornLines === 0 && killed.tail !== '' ? 1 : 0));

    // A crash can tear the last line; make sure this file has one, as the restart must handle it.
    const torn = '{"type":"node","site":"ash1","node":"ups-';
    await appendFile(results, killed.tail === '' ? torn : '');
    const before = killed.complete.join('\n') + '\n';

    // 2. Restart: appends after the first run's complete lines; every line parses.
    const second = startWorker(dataDir);
    await grownPast(results, Buffer.byteLength(before) + Buffer.byteLength(killed.tail || torn));
    await stopped(second);
    expect(second.stderr()).toContain('cut a torn last line');
    expect(parseNdjsonResults(before + torn)).toMatchObject({ tornLines: 1 });
    const appended = await readFile(results, 'utf8');
    expect(appended.startsWith(before)).toBe(true);
    expect(parseNdjsonResults(appended).tornLines).toBe(0);
    const after = split(appended);
    expect(after.tail).toBe('');
    expect(after.complete.length).toBeGreaterThan(killed.complete.length);
    for (const line of after.complete) expect(() => JSON.parse(line) as unknown).not.toThrow();

    // 3. --truncate-results: what was there is gone.
    await appendFile(results, '{"marker":"from an earlier run"}\n');
    const third = startWorker(dataDir, ['--truncate-results']);
    await retryUntil(async () => {
      const text = await readFile(results, 'utf8');
      if (text.includes('from an earlier run') || !text.includes('\n')) throw new Error('not truncated and written yet');
    }, 45_000, 50);
    await stopped(third);
    const fresh = split(await readFile(results, 'utf8'));
    expect(fresh.tail).toBe('');
    expect(fresh.complete.some((l) => l.includes('from an earlier run'))).toBe(false);
    for (const line of fresh.complete) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });
});
