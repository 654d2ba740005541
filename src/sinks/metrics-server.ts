/**
 * The HTTP endpoint of the metrics sink (node:http): `/metrics` (the injected registry in
 * the Prometheus text format), `/healthz` (200 while the process serves), `/readyz` (200
 * when the readiness check passes, else 503 with the reason).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { errorText } from '../telemetry/index.js';

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
  log: Logger;
}

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

  /** Binds; rejects when the port is taken or the host cannot be bound. */
  async start(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host === '' ? undefined : this.opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.address();
    this.log.info({ host: address.address, port: address.port }, 'serving /metrics, /healthz, /readyz');
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
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics, /healthz or /readyz\n');
    }
  }
}
