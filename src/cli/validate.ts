import type { Command } from 'commander';
import { formatIssues, loadConfigFile } from '../config/index.js';
import { EXIT_CONFIG } from './config-arg.js';

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
      const { topology, engine } = result.config;
      const nodes = topology.sites.reduce((n, s) => n + s.nodes.length, 0);
      const meters = topology.sites.reduce((n, s) => n + s.nodes.reduce((m, x) => m + x.meters.length, 0) + s.gridMeters.length, 0);
      const windows = engine.windowsMs.map((w) => `${w / 1000}s`).join(', ');
      process.stdout.write(`${file}: ok — ${topology.sites.length} sites, ${nodes} nodes, ${meters} meters, windows ${windows}\n`);
    });
}
