/**
 * connectNats against a real nats-server: secret forms, no secret in logs, one log line per
 * state change, waiting at start-up for a server that is not up yet, URL credentials refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { SecretResolutionError, type NatsConfig } from '../../src/config/index.js';
import { connectNats, NatsConnectAbortedError, NatsConnectError } from '../../src/sources/index.js';
import { freePort, retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

const TOKEN = 'tok-5a1f6c0e-never-logged';
const USER = 'headroom';
const PASSWORD = 'pw-93b2d7-never-logged';

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

function natsConfig(server: NatsServer, extra: Partial<NatsConfig>): NatsConfig {
  return { servers: [server.url], name: 'headroom-test', ...extra };
}

const noFiles = (p: string): string => {
  throw new Error(`unexpected read of ${p}`);
};

describe('connectNats with a token', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNats({ jetstream: false, extraConfig: `authorization { token: "${TOKEN}" }` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('resolves the token from the environment and never logs it', async () => {
    const { log, lines } = capturingLogger();
    const { nc, status } = await connectNats(natsConfig(server, { token: { env: 'HEADROOM_TEST_NATS_TOKEN' } }), {
      env: { HEADROOM_TEST_NATS_TOKEN: TOKEN },
      readFile: noFiles,
      log,
    });
    expect(status).toEqual({ state: 'connected', reconnects: 0, errors: 0 });
    await nc.close();
    await retryUntil(async () => expect(status.state).toBe('closed'));
    const text = lines.join('');
    expect(text).toContain('env HEADROOM_TEST_NATS_TOKEN');
    expect(text).not.toContain(TOKEN);
  });

  it('rejects a wrong token with NatsConnectError, without the token in the message or logs', async () => {
    const { log, lines } = capturingLogger();
    const err = await connectNats(natsConfig(server, { token: 'wrong-token-value' }), { env: {}, readFile: noFiles, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect(String(err)).not.toContain('wrong-token-value');
    expect(lines.join('')).not.toContain('wrong-token-value');
  });

  it('fails start-up with SecretResolutionError when the variable is unset', async () => {
    const { log } = capturingLogger();
    await expect(connectNats(natsConfig(server, { token: { env: 'HEADROOM_TEST_UNSET' } }), { env: {}, readFile: noFiles, log })).rejects.toBeInstanceOf(SecretResolutionError);
  });

  it('tracks disconnect and reconnect across a server restart, logging each change once', async () => {
    const { log, lines } = capturingLogger();
    const { nc, status } = await connectNats(natsConfig(server, { token: TOKEN }), { env: {}, readFile: noFiles, log });
    try {
      await server.restart();
      await retryUntil(async () => expect(status).toMatchObject({ state: 'connected', reconnects: 1 }), 30_000);
      const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs.filter((m) => m === 'disconnected from NATS; reconnecting')).toHaveLength(1);
      expect(msgs.filter((m) => m === 'reconnected to NATS')).toHaveLength(1);
      expect(msgs.filter((m) => m === 'reconnecting to NATS').length).toBeLessThanOrEqual(1);
      // Still usable after the reconnect.
      await nc.flush();
    } finally {
      await nc.close();
    }
  });
});

describe('connectNats with user and password', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNats({ jetstream: false, extraConfig: `authorization { user: "${USER}", password: "${PASSWORD}" }` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads the password from a file secret (trailing newline removed)', async () => {
    const { log, lines } = capturingLogger();
    const files: Record<string, string> = { '/run/secrets/nats-password': `${PASSWORD}\n` };
    const { nc } = await connectNats(natsConfig(server, { user: USER, password: { file: '/run/secrets/nats-password' } }), {
      env: {},
      readFile: (p) => {
        const text = files[p];
        if (text === undefined) throw new Error(`no such file ${p}`);
        return text;
      },
      log,
    });
    await nc.flush();
    await nc.close();
    expect(lines.join('')).not.toContain(PASSWORD);
  });
});

describe('connectNats at start-up, before the server is up', () => {
  it('with waitForServer, waits for a server started after it, reporting the reason and logging it once', async () => {
    const port = await freePort();
    const { log, lines } = capturingLogger();
    const details: string[] = [];
    const pending = connectNats({ servers: [`nats://127.0.0.1:${port}`], name: 'late-server' }, { env: {}, readFile: noFiles, log }, {
      waitForServer: true,
      policy: { initialWaitMs: 50, maxWaitMs: 200, jitterMs: 10 },
      onWaiting: (detail) => details.push(detail),
    });
    // Several failed attempts before the server exists.
    await retryUntil(async () => expect(details.length).toBeGreaterThanOrEqual(3), 30_000, 50);
    expect(details[0]).toBe(`waiting for NATS at nats://127.0.0.1:${port}: connection refused (attempt 1)`);
    const server = await startNats({ jetstream: false, port });
    try {
      const { nc, status } = await pending;
      expect(status.state).toBe('connected');
      await nc.flush();
      await nc.close();
      const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs.filter((m) => m === 'NATS not reachable; waiting for it (retrying with backoff)')).toHaveLength(1);
      expect(msgs).toContain('connected to NATS');
    } finally {
      await server.stop();
    }
  });

  it('with waitForServer, an abort ends the wait with NatsConnectAbortedError (exit code 0)', async () => {
    const port = await freePort();
    const { log } = capturingLogger();
    const controller = new AbortController();
    let waits = 0;
    const pending = connectNats({ servers: [`nats://127.0.0.1:${port}`], name: 'aborted' }, { env: {}, readFile: noFiles, log }, {
      waitForServer: true,
      signal: controller.signal,
      onWaiting: () => waits++,
    }).catch((e: unknown) => e);
    await retryUntil(async () => expect(waits).toBeGreaterThanOrEqual(1), 30_000, 50);
    controller.abort();
    const err = await pending;
    expect(err).toBeInstanceOf(NatsConnectAbortedError);
    expect((err as NatsConnectAbortedError).exitCode).toBe(0);
  });

  it('without waitForServer, an unreachable server fails at once with the problem and the fix', async () => {
    const port = await freePort();
    const { log } = capturingLogger();
    const err = await connectNats({ servers: [`nats://127.0.0.1:${port}`], name: 'fail-fast' }, { env: {}, readFile: noFiles, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect((err as NatsConnectError).exitCode).toBe(1);
    expect((err as Error).message).toBe(`cannot connect to NATS at nats://127.0.0.1:${port}: connection refused; start the server, or correct nats.servers`);
  });
});

describe('connectNats refuses credentials in a server URL', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNats({ jetstream: false, extraConfig: `authorization { user: "${USER}", password: "${PASSWORD}" }` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fails with exit code 2 and a pointer to the secret forms; the password is in no log line or error', async () => {
    const { log, lines } = capturingLogger();
    const url = `nats://${USER}:${PASSWORD}@127.0.0.1:${server.port}`;
    const err = await connectNats({ servers: [url], name: 'url-creds' }, { env: {}, readFile: noFiles, log }, { waitForServer: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect((err as NatsConnectError).exitCode).toBe(2);
    expect((err as Error).message).toContain(`nats://[redacted]@127.0.0.1:${server.port}`);
    expect((err as Error).message).toContain('nats.user + nats.password, or nats.token, each as { env: VAR } or { file: path }');
    expect(String(err)).not.toContain(PASSWORD);
    expect(lines.join('')).not.toContain(PASSWORD);
  });

  it('with waitForServer, a refused password still fails at once (waiting would not fix it)', async () => {
    const { log, lines } = capturingLogger();
    const err = await connectNats(natsConfig(server, { user: USER, password: 'wrong-password-3f9' }), { env: {}, readFile: noFiles, log }, { waitForServer: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect((err as Error).message).toMatch(/the server refused the credentials \(AUTHORIZATION_VIOLATION\); check nats.user\/nats.password/);
    expect(lines.join('')).not.toContain('wrong-password-3f9');
  });
});
