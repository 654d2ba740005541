/** What `headroom status` adds to the bucket's view of a group: lag and the newest checkpoint per partition. */
import type { NatsConnection } from 'nats';
import type { JetStreamSourceConfig } from '../../config/index.js';
import { claimDurable } from '../../sources/index.js';
import { errorText, type Logger } from '../../telemetry/index.js';
import { CheckpointStore } from './checkpoint-store.js';
import type { PartitionExtras } from './status.js';

/**
 * Lag (the owner's consumer's pending messages) and the newest stored checkpoint of each
 * partition; a part that cannot be read is left out (shown as '-') and logged.
 */
export async function partitionExtras(nc: NatsConnection, source: JetStreamSourceConfig, log: Logger): Promise<PartitionExtras> {
  const group = source.group!;
  const jsm = await nc.jetstreamManager();
  const store = await CheckpointStore.open(nc, group.name, { bucket: group.checkpointBucket }).catch((err: unknown) => {
    log.warn({ err: errorText(err) }, 'checkpoint bucket not readable; no checkpoint column');
    return null;
  });
  return async (partition, { token }) => {
    const out: Awaited<ReturnType<PartitionExtras>> = {};
    if (token !== null) {
      const name = claimDurable(source.consumer.durable, { partition, token });
      await jsm.consumers.info(source.stream.name, name).then(
        (info) => (out.lagMessages = info.num_pending),
        (err: unknown) => log.debug({ partition, consumer: name, err: errorText(err) }, 'no consumer info'),
      );
    }
    const newest = (await store?.list(partition).catch(() => []))?.[0];
    if (newest !== undefined) Object.assign(out, { lastCheckpointAtMs: newest.takenAtMs, lastCheckpointSeq: newest.lastSeq, lastCheckpointBytes: newest.sizeBytes });
    return out;
  };
}
