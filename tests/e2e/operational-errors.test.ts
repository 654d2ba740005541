/**
 * Expected operational failures, through the built CLI as a child process: one line on
 * stderr naming the problem and the fix, the documented exit code, no stack trace unless
 * `--log-level debug`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const minimalConfig = join(repoRoot, 'config/minimal.yaml');
const STACK_FRAME = /^\s+at /m;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-e2e-operr-'));
});
afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function headroom(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [mainJs, ...args], { cwd: repoRoot, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** stderr lines that are not JSON log lines: what a person reads. */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
}

async function writeConfig(name: string, sections: Record<string, unknown>): Promise<string> {
  const config = parse(await readFile(minimalConfig, 'utf8')) as Record<string, unknown>;
  const path = join(tmp, name);
  await writeFile(path, stringify({ ...config, ...sections }));
  return path;
}

/** Holds a loopback port, as another process would. */
async function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

describe('the metrics port is in use (EADDRINUSE)', () => {
  it('run exits 1 with one line naming the address and the fix, no stack trace', async () => {
    const { server, port } = await occupyPort();
    try {
      const r = await headroom(['run', '--config', minimalConfig, '--metrics-listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(plainLines(r.stderr)).toEqual([
        `headroom: cannot serve /metrics on 127.0.0.1:${port}: port ${port} is already in use by another process; ` +
          'stop that process, or set another sinks.metrics.listen or --metrics-listen (port 0 picks a free one)',
      ]);
      expect(r.stderr).not.toMatch(STACK_FRAME);
    } finally {
      server.close();
    }
  });

  it('with --log-level debug the stack trace follows the line', async () => {
    const { server, port } = await occupyPort();
    try {
      const r = await headroom(['run', '--config', minimalConfig, '--metrics-listen', `127.0.0.1:${port}`, '--log-level', 'debug']);
      expect(r.code).toBe(1);
      expect(plainLines(r.stderr)[0]).toMatch(/^headroom: cannot serve \/metrics on /);
      expect(r.stderr).toMatch(STACK_FRAME);
      expect(r.stderr).toContain('caused by: Error: listen EADDRINUSE');
    } finally {
      server.close();
    }
  });
});

describe('a secret whose environment variable is not set', () => {
  it('run exits 2 with one line naming the variable and the config path', async () => {
    const config = await writeConfig('missing-secret.yaml', { source: { kind: 'nats' }, nats: { servers: ['nats://127.0.0.1:4222'], token: { env: 'HEADROOM_E2E_UNSET_TOKEN' } } });
    const env = { ...process.env };
    delete env['HEADROOM_E2E_UNSET_TOKEN'];
    const r = await headroom(['run', '--config', config, '--fail-fast'], env);
    expect(r.code).toBe(2);
    expect(plainLines(r.stderr)).toEqual([
      'headroom: nats.token: environment variable HEADROOM_E2E_UNSET_TOKEN is not set; export it, or point nats.token at another { env: VAR } or { file: path }',
    ]);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('credentials in a NATS server URL', () => {
  it('validate exits 2 naming the path, pointing at the secret forms, without printing the password', async () => {
    const config = await writeConfig('url-creds.yaml', { source: { kind: 'nats' }, nats: { servers: ['nats://worker:pw-e2e-4d1a@127.0.0.1:4222'] } });
    const r = await headroom(['validate', config]);
    expect(r.code).toBe(2);
    expect(plainLines(r.stderr)).toEqual([
      `${config}: nats.servers[0]: credentials in a server URL are not supported (the client ignores them and logs would show them): ` +
        'give them as nats.user + nats.password, or nats.token, each as { env: VAR } or { file: path }',
    ]);
    expect(r.stdout + r.stderr).not.toContain('pw-e2e-4d1a');
  });

  it('simulate --nats-server with credentials exits 2 with the URL redacted', async () => {
    const r = await headroom(['simulate', '--config', minimalConfig, '--to', 'nats', '--nats-server', 'nats://worker:pw-e2e-77b0@127.0.0.1:4222', '--duration', '1s']);
    expect(r.code).toBe(2);
    expect(plainLines(r.stderr)).toEqual([
      'headroom: NATS server nats://[redacted]@127.0.0.1:4222: credentials in a server URL are not supported (the client ignores them and logs would show them): ' +
        'give them as nats.user + nats.password, or nats.token, each as { env: VAR } or { file: path }',
    ]);
    expect(r.stdout + r.stderr).not.toContain('pw-e2e-77b0');
  });
});
