#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, EXIT_CONFIG } from './config-arg.js';
import { registerRecordCommand } from './record.js';
import { registerReplayCommand } from './replay.js';
import { registerRunCommand } from './run.js';
import { registerSimulateCommand } from './simulate.js';
import { registerValidateCommand } from './validate.js';

const program = new Command();
program
  .name('headroom')
  .description('Stream processor for datacenter power: windowed load, utilization and headroom over the electrical tree')
  .version('0.1.0');
registerValidateCommand(program);
registerReplayCommand(program);
registerRecordCommand(program);
registerRunCommand(program);
registerSimulateCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err: unknown) {
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + '\n');
    process.exitCode = EXIT_CONFIG;
  } else {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`headroom: ${message}\n`);
    process.exitCode = 1;
  }
}
