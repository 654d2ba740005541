/**
 * The config file as a JSON Schema (draft-07), for editor completion and validation of YAML
 * files (`headroom schema`, committed as config/headroom.schema.json). Generated from the zod
 * schema, so field descriptions are the `.describe()` texts. It describes what a file may
 * contain (the input side: `10s`, `2MW` as strings); the cross-field rules (the tree, windows
 * named by alerts, ...) are checked by `headroom validate` only.
 */
import { zodToJsonSchema } from 'zod-to-json-schema';
import { headroomConfigSchema } from './index.js';

/** Where the committed copy lives, from the repository root. */
export const CONFIG_JSON_SCHEMA_PATH = 'config/headroom.schema.json';

export type JsonSchema = Record<string, unknown>;

/** The JSON Schema of a Headroom config file. */
export function configJsonSchema(): JsonSchema {
  const schema = zodToJsonSchema(headroomConfigSchema, {
    target: 'jsonSchema7',
    effectStrategy: 'input',
    pipeStrategy: 'input',
    $refStrategy: 'none',
    removeAdditionalStrategy: 'strict',
  }) as JsonSchema;
  return {
    ...schema,
    $id: 'https://github.com/headroom/headroom/config/headroom.schema.json',
    title: 'Headroom configuration',
    description: 'A Headroom config file (YAML). Values take units: durations 10s, 15m; power 400kW, 2MW; sizes 1MiB.',
  };
}

/** The committed file's text: the schema, two-space indented, with a final newline. */
export function renderConfigJsonSchema(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}
