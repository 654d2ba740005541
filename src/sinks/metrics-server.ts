/**
 * The HTTP endpoint of the metrics sink (node:http): `/metrics` (the injected registry in
 * the Prometheus text format), `/healthz` (200 while the process serves), `/readyz` (200
 * when the readiness check passes, else 503 with the reason), `/status` (JSON: what the
 * process runs; a group worker's partitions, leases, lag and checkpoints), and `/`, a page
 * linking them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { errorText, OperationalError } from '../telemetry/index.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready (one line, safe to show). */
  detail?: string;
}

export interface MetricsServerOptions {
  /** Host to bind ('' = all interfaces). */
  host: string;
  /** Port to bind; 0 picks a free one (see `address()` after `start`). */
  port: number;
  registry: Registry;
  /** Evaluated per `/readyz` request. */
  readiness: () => Readiness;
  /** Evaluated per `/status` request, answered as JSON. */
  status?: () => unknown;
  log: Logger;
}

/** What `/` answers: where the endpoints are (a person opening the port in a browser lands here). */
const INDEX_HTML = [
  '<!doctype html>',
  '<html><head><meta charset="utf-8"><title>Headroom</title></head><body>',
  '<h1>Headroom</h1>',
  '<ul>',
  '<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>',
  '<li><a href="/healthz">/healthz</a>: liveness (200 while the process serves)</li>',
  '<li><a href="/readyz">/readyz</a>: readiness (200 when sources are connected and no sink has failed for good)</li>',
  '<li><a href="/status">/status</a>: status as JSON (a group worker: its partitions, leases, lag and checkpoints)</li>',
  '</ul>',
  '</body></html>',
  '',
].join('\n');

export class MetricsServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(private readonly opts: MetricsServerOptions) {
    this.log = opts.log.child({ component: 'metrics-server' });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err: errorText(err) }, 'metrics request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // A scrape must not hold shutdown open.
    this.server.keepAliveTimeout = 5_000;
  }

  /**
   * Binds; rejects with an `OperationalError` (one line: the problem and the fix) when the
   * port is taken or the host cannot be bound.
   */
  async start(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(listenError(err, this.opts.host, this.opts.port));
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host === '' ? undefined : this.opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.address();
    this.log.info({ host: address.address, port: address.port }, 'serving /metrics, /healthz, /readyz, /status');
    return address;
  }

  address(): AddressInfo {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('metrics server is not listening on a TCP port');
    return a;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(req.method === 'HEAD' ? undefined : INDEX_HTML);
        return;
      case '/metrics': {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
        return;
      case '/readyz': {
        const r = this.opts.readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(r.ready ? 'ready\n' : `not ready: ${r.detail ?? 'unknown'}\n`);
        return;
      }
      case '/status': {
        const body = `${JSON.stringify(this.opts.status?.() ?? {}, null, 2)}\n`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics, /healthz, /readyz or /status\n');
    }
  }
}

/** A bind failure in words: which address, why, and what to change. */
function listenError(err: Error, host: string, port: number): OperationalError {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const change = 'set another sinks.metrics.listen or --metrics-listen (port 0 picks a free one)';
  const why =
    code === 'EADDRINUSE'
      ? `port ${port} is already in use by another process; stop that process, or ${change}`
      : code === 'EACCES'
        ? `permission denied (ports below 1024 need privileges); ${change}`
        : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? `${host} is not an address of this machine (${code}); ${change}`
          : `${err.message}; ${change}`;
  return new OperationalError(`cannot serve /metrics on ${address}: ${why}`, { cause: err });
}
