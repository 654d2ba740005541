import type { Command } from 'commander';
import { formatGroupStatus, groupStatus, openGroupBucket, partitionExtras } from '../pipeline/group/index.js';
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

