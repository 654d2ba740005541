/**
 * `headroom record` as a child process (the built CLI: run `npm run build` first), stopped by
 * a real SIGINT in each of its states: connecting (nothing listens on the port yet), waiting
 * for the JetStream consumer (the stream refuses a new consumer), idle (caught up with the
 * stream) and busy (messages arriving as the signal lands). Each time it must exit promptly
 * with code 0 and say what it did; what it wrote must be whole lines of what was published.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
/** Bound on "promptly": generous for a loaded machine, far below nats.js's 30 s retry waits. */
const EXIT_BOUND_MS = 10_000;

let nats: NatsServer;
let nc: NatsConnection;
let dir = '';
const children = new Set<ChildProcess>();

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'headroom-record-signals-'));
});

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface Recorder {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startRecorder(args: string[]): Recorder {
  const child = spawn(process.execPath, [mainJs, 'record', ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolveExit({ code, signal });
    }),
  );
  return { child, stderr: () => stderr, exit };
}

async function stderrShows(rec: Recorder, text: string): Promise<void> {
  await retryUntil(async () => {
    if (!rec.stderr().includes(text)) throw new Error(`stderr so far:\n${rec.stderr()}`);
  }, 30_000, 50);
}

/** SIGINT, then the exit within EXIT_BOUND_MS (a hang fails here instead of at the test timeout). */
async function interrupt(rec: Recorder): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  rec.child.kill('SIGINT');
  const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), EXIT_BOUND_MS).unref());
  const outcome = await Promise.race([rec.exit, bound]);
  if (outcome === 'hung') throw new Error(`record did not exit within ${EXIT_BOUND_MS} ms of SIGINT; stderr:\n${rec.stderr()}`);
  return outcome;
}

async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

const encoder = new TextEncoder();
const payload = (tag: string, i: number): string => JSON.stringify({ site: 'lab1', meter: `m-${tag}`, ts: 1_717_200_000_000 + i * 1000, watts: i });

describe('headroom record stops on SIGINT in every state', () => {
  it('connecting: NATS not reachable yet — waits, and SIGINT exits 0 with a clear line', async () => {
    const port = await freePort(); // nothing listens here
    const out = join(dir, 'connecting.ndjson');
    const rec = startRecorder(['--nats', `nats://127.0.0.1:${port}`, '-o', out, '--stream', 'NOPE']);
    await stderrShows(rec, 'NATS not reachable');
    expect(rec.child.exitCode).toBeNull(); // still waiting, not failed
    const { code } = await interrupt(rec);
    expect(code).toBe(0);
    expect(rec.stderr()).toContain(`record: stopped while connecting to NATS at nats://127.0.0.1:${port}; nothing recorded`);
  });

  it('waiting for the consumer: the stream refuses it — SIGINT exits 0 with a clear line', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'FULL', subjects: ['full.>'], max_consumers: 1 });
    await jsm.consumers.add('FULL', { durable_name: 'taken', ack_policy: AckPolicy.Explicit });
    await nc.jetstream().publish('full.a', encoder.encode(payload('full', 0)));
    const out = join(dir, 'waiting.ndjson');
    const rec = startRecorder(['--nats', nats.url, '-o', out, '--stream', 'FULL']);
    await stderrShows(rec, 'recording stream FULL');
    const { code } = await interrupt(rec);
    expect(code).toBe(0);
    expect(rec.stderr()).toContain('record: stopped while waiting for the JetStream consumer (stream FULL); nothing recorded');
  });

  it('idle: the whole stream (no start flag, the default) recorded, then caught up — SIGINT exits 0 and keeps every line', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'IDLE', subjects: ['idle.>'] });
    const js = nc.jetstream();
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      sent.push(payload('idle', i));
      await js.publish('idle.a', encoder.encode(sent[i]!));
    }
    const out = join(dir, 'idle.ndjson');
    const rec = startRecorder(['--nats', nats.url, '-o', out, '--stream', 'IDLE']);
    await retryUntil(async () => {
      const got = await lines(out);
      if (got.length < sent.length) throw new Error(`${got.length} of ${sent.length} lines`);
    }, 30_000, 50);
    const { code } = await interrupt(rec);
    expect(code).toBe(0);
    expect(await lines(out)).toEqual(sent);
    expect(rec.stderr()).toContain('recorded 50 messages');
  });

  it('busy: messages arriving as the signal lands — SIGINT exits 0, the file is whole lines, in order, as counted', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'BUSY', subjects: ['busy.>'] });
    const out = join(dir, 'busy.ndjson');
    const rec = startRecorder(['--nats', nats.url, '-o', out, '--stream', 'BUSY', '--from-seq', '1']);
    await stderrShows(rec, 'recording stream BUSY');
    const sent: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        sent.push(payload('busy', i));
        nc.publish('busy.a', encoder.encode(sent[i]!));
        if (i % 100 === 99) await nc.flush();
      }
      await nc.flush();
    })();
    try {
      await retryUntil(async () => {
        const got = await readFile(out, 'utf8').catch(() => '');
        if (got.split('\n').length < 500) throw new Error('not busy yet');
      }, 30_000, 20);
      const { code } = await interrupt(rec);
      expect(code).toBe(0);
    } finally {
      publishing = false;
      await publisher;
    }
    const got = await lines(out);
    expect(got.length).toBeGreaterThanOrEqual(500);
    expect(got).toEqual(sent.slice(0, got.length));
    expect(rec.stderr()).toContain(`recorded ${got.length.toLocaleString('en-US')} messages`);
  });
});
