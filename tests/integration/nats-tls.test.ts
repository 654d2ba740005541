/**
 * NATS over TLS with a client certificate (mutual TLS): the worker's connection module reads
 * the CA, certificate and key named in the config and connects to a real nats-server that
 * verifies clients. Certificates are made for the test with openssl (Debian package openssl).
 * A `tls://` URL or a `tls` section requires TLS: a plaintext server is refused, saying why.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, NatsConnectError } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { findBinary, startNats, type NatsServer } from '../helpers/servers.js';

let dir: string;
let server: NatsServer;
/** A server without TLS, for the requirement checks. */
let plaintext: NatsServer;

function openssl(...args: string[]): void {
  execFileSync(findBinary('openssl', 'openssl'), args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'headroom-tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=headroom-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  for (const [name, cn, san] of [
    ['server', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost'],
    ['client', 'headroom-worker', 'DNS:headroom-worker'],
  ] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  }
  server = await startNats({
    jetstream: false,
    extraConfig: `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}", ca_file: "${join(dir, 'ca.pem')}", verify: true }`,
  });
  plaintext = await startNats({ jetstream: false });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await plaintext?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('NATS over mutual TLS', () => {
  it('connects with the CA, client certificate and key from the config', async () => {
    const log = createLogger({ level: 'silent' });
    const handle = await connectNats(
      { servers: [`tls://127.0.0.1:${server.port}`], name: 'tls-worker', tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') } },
      { env: {}, readFile: (p) => readFileSync(p, 'utf8'), log },
    );
    try {
      const sub = handle.nc.subscribe('telemetry.tls.>', { max: 1 });
      handle.nc.publish('telemetry.tls.gw', new TextEncoder().encode('{"meter":"m","ts":1,"watts":1}'));
      for await (const m of sub) expect(new TextDecoder().decode(m.data)).toContain('"watts":1');
      expect(handle.status.state).toBe('connected');
    } finally {
      await handle.nc.close();
    }
  });

  it('is refused without a client certificate', async () => {
    const log = createLogger({ level: 'silent' });
    await expect(
      connectNats(
        { servers: [`tls://127.0.0.1:${server.port}`], name: 'no-cert', tls: { ca: join(dir, 'ca.pem') } },
        { env: {}, readFile: (p) => readFileSync(p, 'utf8'), log },
      ),
    ).rejects.toThrow(/cannot connect to NATS/);
  });
});

describe('TLS is required when asked for', () => {
  it('a tls:// URL without a tls section is refused by a server without TLS, saying so', async () => {
    const log = createLogger({ level: 'silent' });
    const err = await connectNats({ servers: [`tls://127.0.0.1:${plaintext.port}`], name: 'tls-url' }, { env: {}, readFile: (p) => readFileSync(p, 'utf8'), log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect((err as Error).message).toBe(
      `cannot connect to NATS at tls://127.0.0.1:${plaintext.port}: TLS is required (a tls:// server URL requires TLS) but the server offers none; ` +
        'enable TLS on the server (tls { cert_file, key_file }), or connect with nats:// and no nats.tls section',
    );
  });

  it('a tls section with a nats:// URL is refused by a server without TLS, and the refusal explains itself', async () => {
    const log = createLogger({ level: 'silent' });
    const err = await connectNats(
      { servers: [plaintext.url], name: 'tls-section', tls: { ca: join(dir, 'ca.pem') } },
      { env: {}, readFile: (p) => readFileSync(p, 'utf8'), log },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsConnectError);
    expect((err as Error).message).toMatch(/: TLS is required \(the nats\.tls section requires TLS\) but the server offers none; enable TLS on the server/);
  });

  it('waiting for the server does not apply: the refusal comes at once', async () => {
    const log = createLogger({ level: 'silent' });
    const err = await connectNats({ servers: [`tls://127.0.0.1:${plaintext.port}`], name: 'tls-wait' }, { env: {}, readFile: (p) => readFileSync(p, 'utf8'), log }, { waitForServer: true }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain('but the server offers none');
  });
});
