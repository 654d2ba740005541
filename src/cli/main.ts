#!/usr/bin/env node
import { Command } from 'commander';
import { registerDecodeCommand } from './decode.js';
import { describeFailure, wantsStacks } from './errors.js';
import { registerRecordCommand } from './record.js';
import { registerReplayCommand } from './replay.js';
import { registerRunCommand } from './run.js';
import { registerSimulateCommand } from './simulate.js';
import { registerTopologyCommand } from './topology.js';
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
registerDecodeCommand(program);
registerTopologyCommand(program);

// Stack traces only on request: the command's own --log-level debug (or trace).
let stacks = false;
program.hook('preAction', (_program, action) => {
  stacks = wantsStacks(action.opts()['logLevel']);
});

try {
  await program.parseAsync(process.argv);
} catch (err: unknown) {
  // One line naming the problem and the fix; the exit codes are in README.md ("Exit codes").
  const report = describeFailure(err, { stacks });
  process.stderr.write(report.text);
  // Exit now: a failed start can leave a listener or a connection attempt holding the loop.
  process.exit(report.exitCode);
}
