import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { formatDurationMs, type HeadroomConfig } from '../config/index.js';
import { SimulatorDriver } from '../pipeline/index.js';
import { FAULT_KINDS, createSimulator, type NatsConnection, type SimulatedMessage, type Simulator } from '../sources/index.js';
import { createLogger, type Logger } from '../telemetry/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';
import { connectForCli, durationOption, NATS_URL_DEFAULT_TEXT, parseLogLevel, parseSimulateSpeed, parseStartMs, simulateNatsConfig } from './options.js';

interface SimulateFlags {
  config: string;
  seed?: string;
  rate?: string;
  duration?: string;
  to: string;
  speed?: string;
  start?: string;
  natsServer?: string;
  logLevel: string;
}

type Target = { kind: 'nats' } | { kind: 'stdout' } | { kind: 'file'; path: string };

function parseTarget(to: string): Target {
  if (to === 'nats') return { kind: 'nats' };
  if (to === 'stdout' || to === '-') return { kind: 'stdout' };
  return { kind: 'file', path: to };
}

/** Where simulated messages go: NATS subjects, or NDJSON lines (one payload a line). */
interface Publisher {
  publish(msg: SimulatedMessage): void | Promise<void>;
  close(): Promise<void>;
}

function streamPublisher(stream: WriteStream | NodeJS.WriteStream, owned: boolean): Publisher {
  return {
    publish(msg) {
      if (!stream.write(msg.payload + '\n')) return once(stream, 'drain').then(() => undefined);
      return undefined;
    },
    async close() {
      if (!owned) return;
      const done = once(stream, 'finish');
      stream.end();
      await done;
    },
  };
}

function natsPublisher(nc: NatsConnection): Publisher {
  let sinceFlush = 0;
  return {
    publish(msg) {
      nc.publish(msg.subject, msg.payload);
      // Bound what nats.js buffers when generating as fast as possible.
      if (++sinceFlush >= 1000) {
        sinceFlush = 0;
        return nc.flush();
      }
      return undefined;
    },
    async close() {
      await nc.drain();
    },
  };
}

async function openPublisher(target: Target, config: HeadroomConfig, flags: SimulateFlags, log: Logger): Promise<Publisher> {
  switch (target.kind) {
    case 'stdout':
      return streamPublisher(process.stdout, false);
    case 'file': {
      mkdirSync(dirname(target.path), { recursive: true });
      const stream = createWriteStream(target.path, { flags: 'w' });
      await once(stream, 'open');
      return streamPublisher(stream, true);
    }
    case 'nats': {
      const cfg = simulateNatsConfig(config.nats, flags.natsServer, process.env);
      const { nc } = await connectForCli(cfg, log);
      return natsPublisher(nc);
    }
  }
}

export interface SimulateReport {
  ticks: number;
  messages: number;
  readings: number;
  elapsedSeconds: number;
  readingsPerSecond: number;
  messagesPerSecond: number;
  faults: Record<string, number>;
}

export function formatSimulateReport(r: SimulateReport, simulatedMs: number): string {
  const faults = Object.entries(r.faults)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `simulated ${formatDurationMs(Math.max(0, simulatedMs)) === '0ms' ? '0s' : formatDurationMs(simulatedMs)} of event time in ${r.elapsedSeconds.toFixed(1)} s: ` +
    `${r.ticks} ticks, ${r.messages} messages, ${r.readings} readings ` +
    `(${Math.round(r.readingsPerSecond)} readings/s, ${Math.round(r.messagesPerSecond)} messages/s); ` +
    `faults: ${faults === '' ? 'none' : faults}\n`
  );
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('generate a realistic fleet of meter readings from a seed and publish them (NATS, stdout or an NDJSON file)')
    .requiredOption('-c, --config <file>', 'config file (YAML): sites and simulator settings')
    .option('--seed <n>', 'seed of the generator (default: simulator.seed)')
    .option('--rate <duration>', 'interval between two readings of one meter (default: simulator.rate)')
    .option('--duration <duration>', 'event time to simulate, e.g. 10m (default: until Ctrl-C; 10m for a file)')
    .option('--to <target>', "'nats' (subjects <prefix>.<site>.<gateway>), 'stdout', or a FILE.ndjson", 'nats')
    .option('--speed <speed>', "'max' or a factor of real time, e.g. 1 or 10 (default: 1; max for a file)")
    .option('--start <time>', 'event time of the first tick: ISO-8601 or epoch ms (default: now)')
    .option('--nats-server <url>', `NATS server URL (default: nats.servers of the config, else ${NATS_URL_DEFAULT_TEXT})`)
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (flags: SimulateFlags) => {
      const config = loadConfigOrThrow(flags.config);
      const target = parseTarget(flags.to);
      const rateMs = flags.rate === undefined ? config.simulator.rateMs : durationOption('--rate', flags.rate);
      const seed = flags.seed === undefined ? config.simulator.seed : Number(flags.seed);
      if (!Number.isInteger(seed)) throw new ConfigError(`--seed: expected an integer, got '${flags.seed ?? ''}'`);
      const speed = parseSimulateSpeed(flags.speed ?? (target.kind === 'file' ? 'max' : '1'));
      const durationMs = flags.duration === undefined ? (target.kind === 'file' ? 600_000 : undefined) : durationOption('--duration', flags.duration);
      const nowMs = Date.now();
      const startMs = flags.start === undefined ? Math.floor(nowMs / rateMs) * rateMs : parseStartMs(flags.start);
      const log = createLogger({ level: parseLogLevel(flags.logLevel) });

      const simulator: Simulator = createSimulator(config.topology, { seed, rateMs, startMs, batch: config.simulator.batch, faults: config.simulator.faults });
      const publisher = await openPublisher(target, config, flags, log);
      const driver = new SimulatorDriver({
        simulator,
        publish: (m) => publisher.publish(m),
        clock: Date.now,
        speed,
        eventOriginMs: startMs,
        ...(durationMs === undefined ? {} : { endTsMs: startMs + durationMs }),
      });
      const onSignal = (): void => driver.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      log.info({ to: flags.to, seed, rateMs, speed, startMs, durationMs: durationMs ?? null, meters: simulator.meters().length }, 'simulating');
      const startedMs = performance.now();
      try {
        await driver.run();
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await publisher.close();
      }
      const elapsedSeconds = Math.max(1e-3, (performance.now() - startedMs) / 1000);
      const counts = simulator.faultCounts();
      const faults: Record<string, number> = {};
      for (const k of FAULT_KINDS) faults[k] = counts[k];
      const report: SimulateReport = {
        ticks: driver.stats.ticks,
        messages: driver.stats.messages,
        readings: driver.stats.readings,
        elapsedSeconds,
        readingsPerSecond: driver.stats.readings / elapsedSeconds,
        messagesPerSecond: driver.stats.messages / elapsedSeconds,
        faults,
      };
      process.stderr.write(formatSimulateReport(report, driver.stats.ticks * rateMs));
    });
}
