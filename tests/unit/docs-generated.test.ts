/**
 * The generated parts of the manual are current: docs/config-reference.md and
 * config/headroom.schema.json are what the zod schema renders now (`npm run docs:config`),
 * docs/metrics.md is what src/telemetry/metric-names.ts renders (`npm run docs:metrics`), and
 * the JSON Schema accepts the example configs and refuses what the zod schema refuses.
 */
import { describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { createProgram } from '../../src/cli/program.js';
import { parseConfigText } from '../../src/config/index.js';
import { CONFIG_JSON_SCHEMA_PATH, renderConfigJsonSchema } from '../../src/config/schema/json-schema.js';
import { renderConfigReference } from '../../src/config/schema/reference.js';
import { METRIC_NAMES } from '../../src/telemetry/metric-names.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

/** Full config files among config/*.yaml (alerts.yaml is a fragment merged into others' `alerts`). */
const exampleConfigs = readdirSync(join(repoRoot, 'config'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `config/${f}`)
  .filter((f) => parseConfigText(read(f), f).ok);

function compileSchema() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(JSON.parse(read(CONFIG_JSON_SCHEMA_PATH)) as object);
}

describe('configuration reference and JSON Schema', () => {
  it('docs/config-reference.md is what `npm run docs:config` generates now', () => {
    expect(read('docs/config-reference.md') === renderConfigReference(), 'docs/config-reference.md is stale: run npm run docs:config').toBe(true);
  });

  it(`${CONFIG_JSON_SCHEMA_PATH} is what \`headroom schema\` prints now`, () => {
    expect(read(CONFIG_JSON_SCHEMA_PATH) === renderConfigJsonSchema(), `${CONFIG_JSON_SCHEMA_PATH} is stale: run npm run docs:config`).toBe(true);
  });

  it('`headroom schema` prints the committed JSON Schema', async () => {
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await createProgram().parseAsync(['node', 'headroom', 'schema']);
    } finally {
      write.mockRestore();
    }
    expect(printed.join('')).toBe(read(CONFIG_JSON_SCHEMA_PATH));
  });

  it('the reference carries the schema\'s own descriptions and defaults', () => {
    const reference = read('docs/config-reference.md');
    expect(reference).toMatch(/\| `pipeline\.maxOutOfOrder` \| [^|]+ \| `"2s"` \| Watermark lag behind the largest event time seen/);
    expect(reference).toMatch(/\| `sites\[\]\.nodes\[\]\.rating` \| [^|]+ \| required \| Nameplate or breaker rating/);
    expect(reference).toContain('### `source.kind: jetstream`');
  });

  it('the example configs, valid for headroom, are valid for the JSON Schema', () => {
    expect(exampleConfigs).toContain('config/demo-fleet.yaml');
    const validate = compileSchema();
    for (const file of exampleConfigs) {
      const ok = validate(parseYaml(read(file)));
      expect(ok, `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('the JSON Schema refuses an unknown key, a missing rating and an unknown source kind, as headroom does', () => {
    const validate = compileSchema();
    const base = parseYaml(read('config/minimal.yaml')) as { sites: { nodes: Record<string, unknown>[] }[] };
    const variants: [string, (c: Record<string, unknown>) => void][] = [
      ['unknown top-level key', (c) => { c['pipelines'] = {}; }],
      ['missing rating', (c) => { delete (c as typeof base).sites[0]!.nodes[0]!['rating']; }],
      ['unknown source kind', (c) => { c['source'] = { kind: 'kafka' }; }],
    ];
    for (const [what, change] of variants) {
      const config = structuredClone(base) as unknown as Record<string, unknown>;
      change(config);
      expect(parseConfigText(JSON.stringify(config), 'variant.yaml').ok, `headroom refuses: ${what}`).toBe(false);
      expect(validate(config), `JSON Schema refuses: ${what}`).toBe(false);
    }
  });
});

describe('metrics reference (docs/metrics.md)', () => {
  it('is what `npm run docs:metrics` generates from src/telemetry/metric-names.ts now', () => {
    // The script exits 1 (and execFileSync throws) when the committed file differs.
    const run = () => execFileSync(process.execPath, ['scripts/docs-metrics.mjs', '--check'], { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' });
    expect(run).not.toThrow();
  });

  it('lists every exported metric name once', () => {
    const rows = read('docs/metrics.md').split('\n').filter((l) => l.startsWith('| `headroom_'));
    const names = rows.map((l) => /^\| `([^`]+)`/.exec(l)![1]);
    for (const name of METRIC_NAMES) expect(names.filter((n) => n === name), name).toHaveLength(1);
  });
});
