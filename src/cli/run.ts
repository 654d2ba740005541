import type { Command } from 'commander';

/** `headroom run` (owned by the service layer; placeholder until it lands). */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the pipeline as a service (sources → core → sinks)')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(() => {
      process.stderr.write('headroom run: not available in this build\n');
      process.exitCode = 1;
    });
}
