/**
 * `headroom validate` prints counts in good English and windows as the `window` label and
 * the config write them (`1m`, `15m`, not `60s, 900s`), and the README shows that line.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validSummary } from '../../../src/cli/validate.js';
import { loadConfigFile } from '../../../src/config/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function summaryOf(file: string): string {
  const loaded = loadConfigFile(join(repoRoot, file));
  if (!loaded.ok) throw new Error(`${file}: ${JSON.stringify(loaded.issues)}`);
  return validSummary(file, loaded.config);
}

describe('headroom validate', () => {
  it('one site, one node, one meter read in the singular; windows as labels', () => {
    // tests/fixtures/golden/mlperf-ptdaemon.yaml: one site, one node with meter ptd, windows [10s, 1m].
    expect(summaryOf('tests/fixtures/golden/mlperf-ptdaemon.yaml')).toBe('tests/fixtures/golden/mlperf-ptdaemon.yaml: ok — 1 site, 1 node, 1 meter, windows 10s, 1m');
  });

  it('the demo fleet prints what the README shows, with the windows its config writes', () => {
    const config = readFileSync(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8');
    const windows = /^\s*windows:\s*\[([^\]]*)\]/m.exec(config)?.[1]?.split(',').map((w) => w.trim());
    const line = summaryOf('config/demo-fleet.yaml');
    expect(line.endsWith(`windows ${windows!.join(', ')}`), line).toBe(true);
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme.split('\n')).toContain(line);
  });
});
