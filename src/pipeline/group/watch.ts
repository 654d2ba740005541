/**
 * The KV watch that makes hand-over immediate: it only triggers a rebalance (`kick`) when a
 * lease is freed or deleted, or a member joins or leaves; the periodic read stays the source
 * of truth, so a watch that ends (cluster fail-over) costs at most a heartbeat of delay.
 */
import { KvWatchInclude, type KV, type KvEntry, type QueuedIterator } from 'nats';
import { errorText, type Logger } from '../../telemetry/index.js';
import { decodeLease, MEMBER_PREFIX } from './leases.js';

export interface WatchHooks {
  self: string;
  /** Member ids seen at the last read. */
  known: () => ReadonlySet<string>;
  kick: () => void;
  log: Logger;
}

/** Starts the watch; undefined when the server refuses it (rebalancing then runs every heartbeat only). */
export async function watchGroup(kv: KV, hooks: WatchHooks): Promise<QueuedIterator<KvEntry> | undefined> {
  let watcher: QueuedIterator<KvEntry>;
  try {
    watcher = await kv.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
  } catch (err: unknown) {
    hooks.log.warn({ err: errorText(err) }, 'KV watch unavailable; rebalancing every heartbeat only');
    return undefined;
  }
  void (async () => {
    for await (const e of watcher) {
      if (e.key.startsWith(`${MEMBER_PREFIX}.`)) {
        const id = e.key.slice(MEMBER_PREFIX.length + 1);
        if (id !== hooks.self && (e.operation !== 'PUT' || !hooks.known().has(id))) hooks.kick();
      } else if (e.operation !== 'PUT' || decodeLease(e).owner === null) {
        hooks.kick();
      }
    }
  })().catch((err: unknown) => hooks.log.warn({ err: errorText(err) }, 'KV watch ended; rebalancing every heartbeat only'));
  return watcher;
}
