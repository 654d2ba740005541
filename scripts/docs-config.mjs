// Regenerates docs/config-reference.md and config/headroom.schema.json from the built zod
// schema (`npm run docs:config` builds first).
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { CONFIG_JSON_SCHEMA_PATH, renderConfigJsonSchema } from '../dist/config/schema/json-schema.js';
import { renderConfigReference } from '../dist/config/schema/reference.js';

for (const [path, text] of [
  ['docs/config-reference.md', renderConfigReference()],
  [CONFIG_JSON_SCHEMA_PATH, renderConfigJsonSchema()],
]) {
  const target = new URL(`../${path}`, import.meta.url);
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
