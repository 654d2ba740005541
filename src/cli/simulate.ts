import type { Command } from 'commander';

/** `headroom simulate` (owned by the service layer; placeholder until it lands). */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('generate a realistic fleet of meter readings from a seed')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(() => {
      process.stderr.write('headroom simulate: not available in this build\n');
      process.exitCode = 1;
    });
}
