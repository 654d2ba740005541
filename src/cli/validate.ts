import type { Command } from 'commander';
import { formatIssues, loadConfigFile, type HeadroomConfig } from '../config/index.js';
import { windowLabel } from '../core/index.js';
import { EXIT_CONFIG } from './config-arg.js';

/** `1 site`, `3 sites`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The line `validate` prints for a valid config; windows as the `window` label writes them (`1m`, `15m`). */
export function validSummary(file: string, config: HeadroomConfig): string {
  const { topology, engine } = config;
  const nodes = topology.sites.reduce((n, s) => n + s.nodes.length, 0);
  const meters = topology.sites.reduce((n, s) => n + s.nodes.reduce((m, x) => m + x.meters.length, 0) + s.gridMeters.length, 0);
  const windows = engine.windowsMs.map(windowLabel).join(', ');
  return `${file}: ok — ${count(topology.sites.length, 'site')}, ${count(nodes, 'node')}, ${count(meters, 'meter')}, windows ${windows}`;
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a config file; prints every problem by its path and exits 2 if there is any')
    .argument('<file>', 'config file (YAML)')
    .action((file: string) => {
      const result = loadConfigFile(file);
      if (!result.ok) {
        process.stderr.write(formatIssues(file, result.issues) + '\n');
        process.exitCode = EXIT_CONFIG;
        return;
      }
      process.stdout.write(validSummary(file, result.config) + '\n');
    });
}
