#!/usr/bin/env node
import { describeFailure, wantsStacks } from './errors.js';
import { createProgram } from './program.js';

const program = createProgram();

// Stack traces only on request: the command's own --log-level debug (or trace).
let stacks = false;
program.hook('preAction', (_program, action) => {
  stacks = wantsStacks(action.opts()['logLevel']);
});

try {
  await program.parseAsync(process.argv);
} catch (err: unknown) {
  // One line naming the problem and the fix; the exit codes are in docs/operations.md ("Exit codes").
  const report = describeFailure(err, { stacks });
  process.stderr.write(report.text);
  // Exit now: a failed start can leave a listener or a connection attempt holding the loop.
  process.exit(report.exitCode);
}
