/**
 * The InfluxDB v2 write API in front of InfluxDB 1.x (the Debian package has only /write):
 * `/api/v2/write?bucket=B&precision=P` is forwarded as `/write?db=B&precision=P` with the same
 * body and encoding, and `/ping` is answered here (without 1.x's version header, which the
 * sink refuses as a 1.x server). Everything else is forwarded unchanged. For tests that need
 * InfluxQL on what the sink wrote.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InfluxV1Shim {
  url: string;
  close(): Promise<void>;
}

/** A request's whole body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** `/api/v2/write?bucket=B&precision=P` as InfluxDB 1.x's `/write?db=B&precision=P`. */
export function v1WritePath(v2Path: string): string {
  const q = new URL(v2Path, 'http://x').searchParams;
  return `/write?${new URLSearchParams({ db: q.get('bucket') ?? '', precision: q.get('precision') ?? 'ns' }).toString()}`;
}

export async function startInfluxV1Shim(influxUrl: string): Promise<InfluxV1Shim> {
  const target = new URL(influxUrl);
  const server: Server = createServer((req, res) => {
    void (async () => {
      if ((req.url ?? '/').startsWith('/ping')) {
        res.writeHead(204);
        res.end();
        return;
      }
      const body = await readBody(req);
      let path = req.url ?? '/';
      const headers = { ...req.headers };
      if (path.startsWith('/api/v2/write')) {
        path = v1WritePath(path);
        delete headers.authorization;
      }
      const upstream = request({ host: target.hostname, port: target.port, path, method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (err) => {
        res.writeHead(502);
        res.end(err.message);
      });
      upstream.end(body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
