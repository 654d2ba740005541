/** connectNats against a real nats-server: secret forms, no secret in logs, one log line per state change. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { SecretResolutionError, type NatsConfig } from '../../src/config/index.js';
import { connectNats, NatsConnectError } from '../../src/sources/index.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

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
