/**
 * The metrics listener answers `/` with a page that links its endpoints (it answered 404),
 * and every link on it works; `/status` answers the service's status as JSON. A real HTTP server on 127.0.0.1, port 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { MetricsServer } from '../../src/sinks/index.js';
import { createLogger } from '../../src/telemetry/index.js';

let server: MetricsServer;
let base: string;

beforeAll(async () => {
  server = new MetricsServer({ host: '127.0.0.1', port: 0, registry: new Registry(), readiness: () => ({ ready: true }), status: () => ({ group: { workerId: 'w1', partitions: [] } }), log: createLogger({ level: 'silent' }) });
  const address = await server.start();
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await server?.stop();
});

describe('metrics listener index page', () => {
  it('GET / links /metrics, /healthz, /readyz and /status, and each link answers 200', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const body = await res.text();
    const links = [...body.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toEqual(['/metrics', '/healthz', '/readyz', '/status']);
    for (const link of links) expect((await fetch(`${base}${link!}`)).status, link).toBe(200);
    const status = await fetch(`${base}/status`);
    expect(status.headers.get('content-type')).toBe('application/json');
    expect(await status.json()).toEqual({ group: { workerId: 'w1', partitions: [] } });
  });

  it('HEAD / answers 200 without a body; other unknown paths stay 404', async () => {
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
