/**
 * `headroom rules -c CONFIG [-o DIR]`: writes the Prometheus rule files and the Alertmanager
 * routing for a config's fleet (levels, sites, teams, alerting window), so that free-text
 * level names and site names are never hard-coded in deploy/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { HeadroomConfig } from '../../config/index.js';
import { loadConfigOrThrow } from '../config-arg.js';
import { alertmanagerYaml } from './alertmanager.js';
import { rulesInput } from './input.js';
import { alertRulesYaml } from './alert-rules.js';
import { recordingRulesYaml } from './recording-rules.js';

export { rulesInput, levelOrder, type RulesInput } from './input.js';

/** Generated files, by path relative to the output directory (deploy/ in this repository). */
export function generateRulesFiles(config: HeadroomConfig, configName: string): Map<string, string> {
  const input = rulesInput(config, configName);
  return new Map([
    ['prometheus/rules/headroom-recording.yml', recordingRulesYaml(input)],
    ['prometheus/rules/headroom-alerts.yml', alertRulesYaml(input)],
    ['alertmanager/alertmanager.yml', alertmanagerYaml(input)],
  ]);
}

export function registerRulesCommand(program: Command): void {
  program
    .command('rules')
    .description('write the Prometheus recording and alert rules and the Alertmanager routing for a config (levels, sites, teams from the config)')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('-o, --out-dir <dir>', 'output directory: writes prometheus/rules/*.yml and alertmanager/alertmanager.yml under it', 'deploy')
    .action((flags: { config: string; outDir: string }) => {
      const config = loadConfigOrThrow(flags.config);
      for (const note of rulesInput(config, basename(flags.config)).metricsNotes) process.stderr.write(`note: ${note}\n`);
      for (const [path, text] of generateRulesFiles(config, basename(flags.config))) {
        const file = join(flags.outDir, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
        process.stdout.write(`wrote ${file}\n`);
      }
    });
}
