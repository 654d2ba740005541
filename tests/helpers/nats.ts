/**
 * The NATS set-up most integration files share: a nats-server on a random loopback port, one
 * connection to it, the streams the file needs; and the teardown in the right order.
 *
 *   let server: NatsServer;
 *   let nc: NatsConnection;
 *   beforeAll(async () => {
 *     ({ server, nc } = await startNatsWithClient({ jetstream: true, streams: [{ name: 'T', subjects: ['t.>'] }] }));
 *   });
 *   afterAll(() => stopNatsWithClient(server, nc));
 */
import { connect, type NatsConnection, type StreamConfig } from 'nats';
import { startNats, type NatsServer, type StartNatsOptions } from './servers.js';

export interface NatsWithClient {
  server: NatsServer;
  nc: NatsConnection;
}

export interface StartNatsWithClientOptions extends StartNatsOptions {
  /** JetStream streams to add once connected. */
  streams?: (Partial<StreamConfig> & { name: string; subjects: string[] })[];
}

/** Starts a nats-server, connects to it and adds `streams`; stops the server if any step fails. */
export async function startNatsWithClient(opts: StartNatsWithClientOptions = {}): Promise<NatsWithClient> {
  const { streams = [], ...serverOpts } = opts;
  const server = await startNats(serverOpts);
  try {
    const nc = await connect({ servers: server.url });
    if (streams.length > 0) {
      const jsm = await nc.jetstreamManager();
      for (const stream of streams) await jsm.streams.add(stream);
    }
    return { server, nc };
  } catch (err: unknown) {
    await server.stop();
    throw err;
  }
}

/** Closes the connection, then stops the server; either may be absent (a failed start). */
export async function stopNatsWithClient(server: NatsServer | undefined, nc: NatsConnection | undefined): Promise<void> {
  await nc?.close();
  await server?.stop();
}
