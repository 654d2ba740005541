import type { Command } from 'commander';
import type { NatsConnection } from 'nats';
import type { JetStreamSourceConfig } from '../config/index.js';
import { formatGroupStatus, groupStatus, openGroupBucket, type PartitionExtras } from '../pipeline/group/index.js';
import { CheckpointStore } from '../pipeline/group/checkpoint-store.js';
import { claimDurable } from '../sources/index.js';
import type { Logger } from '../telemetry/index.js';
import { createLogger, errorText, OperationalError } from '../telemetry/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';
import { connectForCli, natsConfigFor, natsUrlOf } from './options.js';

/** `headroom status -c CONFIG`: the worker group of the config's source, read from its KV bucket. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("print the config's worker group: workers, partitions, owners, lease expiry (from the group's NATS KV bucket)")
    .requiredOption('-c, --config <file>', 'config file (YAML) whose source has a group')
    .option('--json', 'print the status as JSON (the /status shape)')
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = loadConfigOrThrow(opts.config);
      const source = config.source;
      if (source.kind !== 'jetstream' || source.group === undefined || source.partitions === undefined) {
        throw new ConfigError(`${opts.config}: source.group: not set; status shows a worker group (a jetstream source with partitions and group)`);
      }
      const { group, partitions } = source;
      const log = createLogger({ level: 'warn' });
      const { nc } = await connectForCli(natsConfigFor(opts.config, natsUrlOf(undefined, process.env), 'headroom-status'), log);
      try {
        let kv;
        try {
          kv = await openGroupBucket(nc.jetstream(), { bucket: group.bucket, replicas: group.replicas ?? 1, bindOnly: true });
        } catch (err: unknown) {
          throw new OperationalError(`group ${group.name}: bucket ${group.bucket} not found (no worker of the group has started yet?): ${errorText(err)}`, { cause: err });
        }
        const extras = await partitionExtras(nc, source, log);
        const status = await groupStatus(kv, { group: group.name, bucket: group.bucket, partitionCount: partitions.ids.length, nowMs: () => Date.now(), extras });
        process.stdout.write(opts.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatGroupStatus(status));
      } finally {
        await nc.close();
      }
    });
}

/**
 * Lag (the owner's consumer's pending messages) and the newest stored checkpoint of each
 * partition; a part that cannot be read is left out (shown as '-') and logged.
 */
async function partitionExtras(nc: NatsConnection, source: JetStreamSourceConfig, log: Logger): Promise<PartitionExtras> {
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
