/** Disconnects of the source's connection: each one strands every pull in flight. */
import { Events, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { errorText } from './errors.js';

/**
 * Calls `onDisconnect` on every disconnect of `nc` until the returned function is called. The
 * client's idle-heartbeat monitor is off while disconnected, so no missed heartbeat reports
 * the silence; consume() pulls again only after the reconnect.
 */
export function watchDisconnects(nc: NatsConnection, log: Logger, onDisconnect: () => void): () => void {
  const events = nc.status();
  let stopped = false;
  void (async () => {
    try {
      for await (const s of events) {
        if (stopped) break;
        if (s.type === Events.Disconnect) onDisconnect();
      }
    } catch (err: unknown) {
      log.debug({ err: errorText(err) }, 'connection status stream ended');
    }
  })();
  return () => {
    stopped = true;
    // nats.js types status() as a plain AsyncIterable; its object has stop(), which ends the loop now.
    if ('stop' in events && typeof events.stop === 'function') events.stop();
  };
}
