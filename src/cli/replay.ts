import type { Command } from 'commander';
import { WindowEngine } from '../core/index.js';
import { replayFiles } from '../pipeline/replay.js';
import { NdjsonSink } from '../sinks/ndjson-sink.js';
import { loadConfigOrThrow } from './config-arg.js';

interface ReplayFlags {
  config: string;
  output: string;
  meters?: boolean;
  quiet?: boolean;
  maxMessageBytes: string;
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('replay recorded NDJSON readings through the core on the event-time clock')
    .requiredOption('-c, --config <file>', 'config file (YAML) with the topology and windows')
    .requiredOption('-o, --output <file>', 'results NDJSON to write')
    .option('--meters', 'also write per-meter window records')
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--max-message-bytes <n>', 'longest line accepted', '1048576')
    .argument('<inputs...>', 'NDJSON files of readings (.gz allowed)')
    .action(async (inputs: string[], flags: ReplayFlags) => {
      const config = loadConfigOrThrow(flags.config);
      const engine = new WindowEngine(config.topology, config.engine, { emitMeters: flags.meters === true });
      const sink = new NdjsonSink(flags.output);
      const startedMs = performance.now();
      const summary = await replayFiles(engine, [sink], {
        inputs,
        maxMessageBytes: Number(flags.maxMessageBytes),
        ...(flags.quiet
          ? {}
          : {
              onProgress: (p) =>
                process.stderr.write(`${p.file}: ${p.lines.toLocaleString('en-US')} lines, ${p.readings.toLocaleString('en-US')} readings\n`),
            }),
      });
      sink.writeLine(summary);
      await sink.close();
      if (!flags.quiet) {
        const seconds = (performance.now() - startedMs) / 1000;
        const rate = Math.round(summary.readings / Math.max(seconds, 1e-3));
        process.stderr.write(
          `replayed ${summary.readings.toLocaleString('en-US')} readings in ${seconds.toFixed(1)} s (${rate.toLocaleString('en-US')}/s): ` +
            `${JSON.stringify(summary.outcomes)}; windows ${JSON.stringify(summary.windows)} → ${flags.output}\n`,
        );
      }
    });
}
