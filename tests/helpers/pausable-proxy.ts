/**
 * A TCP proxy on 127.0.0.1 whose traffic can be held in both directions (pause) and let go
 * again (resume): a connection that stays open but moves nothing, as one stuck behind a long
 * upload does. Not a mock: the client talks to the real server through it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class PausableProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private paused = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<PausableProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    const proxy = new PausableProxy(server, address.port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Holds every byte in both directions until resume(). */
  pause(): void {
    this.paused = true;
    for (const pair of this.pairs) hold(pair);
  }

  resume(): void {
    this.paused = false;
    for (const [a, b] of this.pairs) {
      a.pipe(b);
      b.pipe(a);
    }
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    if (this.paused) hold(pair);
    else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }
}

/** Unpiped and paused: nothing is read from either socket (the kernel buffers fill, then the peers wait). */
function hold([a, b]: [Socket, Socket]): void {
  a.unpipe(b);
  b.unpipe(a);
  a.pause();
  b.pause();
}
