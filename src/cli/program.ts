import { Command } from 'commander';
import { registerDecodeCommand } from './decode.js';
import { registerRecordCommand } from './record.js';
import { registerReplayCommand } from './replay.js';
import { registerRulesCommand } from './rules/index.js';
import { registerRunCommand } from './run.js';
import { registerSchemaCommand } from './schema.js';
import { registerSimulateCommand } from './simulate.js';
import { registerStatusCommand } from './status.js';
import { registerTopologyCommand } from './topology.js';
import { registerValidateCommand } from './validate.js';

/**
 * The whole command-line program, built without running anything: main.ts parses argv with
 * it, and the CLI reference (docs/cli.md, `npm run docs:cli`) is generated from its help.
 */
export function createProgram(): Command {
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
  registerDecodeCommand(program);
  registerTopologyCommand(program);
  registerRulesCommand(program);
  registerStatusCommand(program);
  registerSchemaCommand(program);
  return program;
}
