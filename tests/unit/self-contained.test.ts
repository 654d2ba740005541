/**
 * A clone tests anywhere: nothing in the repository reaches outside it for data, and the
 * vendored telemetry in tests/fixtures/data is complete (licence, credit, upstream bytes).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DATA_DIR = 'tests/fixtures/data';
/** Built from parts so that this file does not match itself. */
const OUTSIDE_PATH = ['..', 'shared'].join('/');
/** Generated or installed folders: never part of a clone. */
const UNTRACKED_DIRS = new Set(['.git', 'node_modules', 'dist', 'dist-bench', 'data', 'coverage', '.tmp']);

/** Tracked files (git ls-files), or every file outside generated folders where git is absent. */
function repositoryFiles(): string[] {
  if (existsSync(join(repoRoot, '.git'))) {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' });
    return out.split('\0').filter((f) => f !== '' && existsSync(join(repoRoot, f)));
  }
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!UNTRACKED_DIRS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.isFile()) {
        files.push(relative(repoRoot, join(dir, entry.name)).split(sep).join('/'));
      }
    }
  };
  walk(repoRoot);
  return files;
}

/** tests/fixtures' own READMEs may say where their data came from; nothing else may point there. */
function mayMentionOutside(file: string): boolean {
  return file.startsWith('tests/fixtures/') && file.endsWith('/README.md');
}

describe('the repository is self-contained', () => {
  it(`no file outside the fixtures' READMEs refers to a folder beside the clone (${OUTSIDE_PATH})`, () => {
    const files = repositoryFiles();
    expect(files.length).toBeGreaterThan(100);
    const needle = Buffer.from(OUTSIDE_PATH);
    const offenders = files.filter((f) => !mayMentionOutside(f) && readFileSync(join(repoRoot, f)).includes(needle));
    expect(offenders, `these files refer to ${OUTSIDE_PATH}: vendor what they need under ${DATA_DIR}`).toEqual([]);
  });

  it('every vendored dataset has its licence text and a README crediting the source', () => {
    const datasets = readdirSync(join(repoRoot, DATA_DIR)).filter((d) => statSync(join(repoRoot, DATA_DIR, d)).isDirectory());
    expect(datasets.sort()).toEqual(['eia930-cleaned', 'gpu-llm-inference', 'line-protocol', 'mlperf-ptdaemon', 'uci-household']);
    for (const d of datasets) {
      const files = readdirSync(join(repoRoot, DATA_DIR, d));
      expect(files.some((f) => /^LICENSE/.test(f)), `${d}: licence file`).toBe(true);
      const readme = readFileSync(join(repoRoot, DATA_DIR, d, 'README.md'), 'utf8');
      expect(readme, `${d}/README.md names the licence`).toMatch(/Licence: (MIT|Apache-2\.0|Creative Commons Attribution 4\.0)/);
      expect(readme, `${d}/README.md names the upstream commit`).toMatch(/commit\s+[0-9a-f]{40}/);
    }
  });

  it('the vendored data files are the upstream bytes listed in SHA256SUMS', () => {
    const lines = readFileSync(join(repoRoot, DATA_DIR, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const line of lines) {
      const [sum, file] = line.split(/\s+/);
      const bytes = readFileSync(join(repoRoot, DATA_DIR, file!));
      expect(createHash('sha256').update(bytes).digest('hex'), file).toBe(sum);
    }
    // A data file not listed would escape the check.
    const listed = new Set(lines.map((l) => l.split(/\s+/)[1]));
    const dataFiles = repositoryFiles().filter((f) => f.startsWith(`${DATA_DIR}/`) && /\.(csv|txt)$/.test(f) && !/\/LICENSE/.test(f));
    expect(dataFiles.map((f) => f.slice(DATA_DIR.length + 1)).filter((f) => !listed.has(f))).toEqual([]);
  });

  it('LICENSE holds the Apache-2.0 text that package.json and the README name; NOTICE credits every vendored dataset', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toMatch(/## Licence and data\s+Apache-2\.0/);
    const licence = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    expect(licence).toMatch(/^\s+Apache License\s+Version 2\.0, January 2004/);
    expect(licence).toContain('END OF TERMS AND CONDITIONS');
    const notice = readFileSync(join(repoRoot, 'NOTICE'), 'utf8');
    for (const d of readdirSync(join(repoRoot, DATA_DIR)).filter((f) => statSync(join(repoRoot, DATA_DIR, f)).isDirectory())) {
      expect(notice, `NOTICE credits ${d}`).toContain(`${DATA_DIR}/${d}/`);
    }
  });
});
