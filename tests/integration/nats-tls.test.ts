/**
 * NATS over TLS with a client certificate (mutual TLS): the worker's connection module reads
 * the CA, certificate and key named in the config and connects to a real nats-server that
 * verifies clients. Certificates are made for the test with openssl (Debian package openssl).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { findBinary, startNats, type NatsServer } from '../helpers/servers.js';

let dir: string;
let server: NatsServer;

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
}, 60_000);

afterAll(async () => {
  await server?.stop();
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
