import type { Command } from 'commander';
import { renderConfigJsonSchema } from '../config/schema/json-schema.js';

/**
 * `headroom schema`: the config file's JSON Schema on stdout, for editors (YAML language
 * servers take it through a `# yaml-language-server: $schema=...` comment or their settings).
 */
export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema (draft-07) of the config file, for editor completion and validation')
    .action(() => {
      process.stdout.write(renderConfigJsonSchema());
    });
}
