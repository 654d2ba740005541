/**
 * The core stays pure (STYLE.md): src/core imports only src/core and src/domain, and reads
 * no clock, randomness, timers or process state. src/domain imports only src/domain.
 * Checked on the source text with comments stripped (string contents are kept, so an
 * import specifier is still seen).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const srcRoot = join(repoRoot, 'src');

const FORBIDDEN_CALLS: readonly { pattern: RegExp; label: string }[] = [
  { pattern: /\bDate\s*\.\s*now\b/, label: 'Date.now' },
  { pattern: /\bnew\s+Date\s*\(/, label: 'new Date(' },
  { pattern: /(?<![\w.])Date\s*\(/, label: 'Date(' },
  { pattern: /\bMath\s*\.\s*random\b/, label: 'Math.random' },
  { pattern: /\bsetTimeout\b/, label: 'setTimeout' },
  { pattern: /\bsetInterval\b/, label: 'setInterval' },
  { pattern: /\bsetImmediate\b/, label: 'setImmediate' },
  { pattern: /\bperformance\s*\.\s*now\b/, label: 'performance.now' },
  { pattern: /(?<![\w.$])process\s*\./, label: 'process.' },
  { pattern: /\brequire\s*\(/, label: 'require(' },
];

export interface Violation {
  file: string;
  line: number;
  problem: string;
}

function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err: unknown) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return out;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTsFiles(path));
    else if (entry.isFile() && /\.(ts|mts|cts)$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** Replace comments by spaces (newlines kept, so line numbers still match). */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && next === '*') {
      out += '  ';
      i += 2;
      while (i < n && !(source[i] === '*' && source[i + 1] === '/')) {
        out += source[i] === '\n' ? '\n' : ' ';
        i++;
      }
      out += '  ';
      i += 2;
    } else if (c === '"' || c === "'" || c === '`') {
      const quote = c;
      out += c;
      i++;
      while (i < n && source[i] !== quote) {
        if (source[i] === '\\' && i + 1 < n) {
          out += source.slice(i, i + 2);
          i += 2;
        } else {
          out += source[i];
          i++;
        }
      }
      out += source[i] ?? '';
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT_PATTERNS: readonly RegExp[] = [
  /\bimport\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s*['"]([^'"]+)['"]/g,
  /\bexport\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
];

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/** Check one file's source; `allowedDirs` are absolute folders its imports may reach. */
export function checkSource(file: string, source: string, allowedDirs: readonly string[], checkCalls: boolean): Violation[] {
  const text = stripComments(source);
  const violations: Violation[] = [];
  const name = relative(repoRoot, file);
  for (const pattern of IMPORT_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const spec = m[1] ?? '';
      const line = lineOf(text, m.index ?? 0);
      if (!spec.startsWith('./') && !spec.startsWith('../')) {
        violations.push({ file: name, line, problem: `imports '${spec}' (only relative imports are allowed)` });
        continue;
      }
      const target = resolve(dirname(file), spec);
      if (!allowedDirs.some((dir) => isInside(target, dir))) {
        violations.push({ file: name, line, problem: `imports '${spec}', outside ${allowedDirs.map((d) => relative(repoRoot, d)).join(' and ')}` });
      }
    }
  }
  // A dynamic import with a computed specifier can't be checked: forbid it.
  for (const m of text.matchAll(/\bimport\s*\(\s*(?!['"`])/g)) {
    violations.push({ file: name, line: lineOf(text, m.index ?? 0), problem: 'dynamic import with a computed specifier' });
  }
  if (checkCalls) {
    const lines = text.split('\n');
    lines.forEach((lineText, i) => {
      for (const { pattern, label } of FORBIDDEN_CALLS) {
        if (pattern.test(lineText)) violations.push({ file: name, line: i + 1, problem: `uses ${label}` });
      }
    });
  }
  return violations;
}

function checkTree(dir: string, allowedDirs: readonly string[], checkCalls: boolean): Violation[] {
  return listTsFiles(dir).flatMap((file) => checkSource(file, readFileSync(file, 'utf8'), allowedDirs, checkCalls));
}

function format(violations: Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line}: ${v.problem}`).join('\n');
}

const coreDir = join(srcRoot, 'core');
const domainDir = join(srcRoot, 'domain');

describe('architecture', () => {
  it('src/core exists and has sources', () => {
    expect(listTsFiles(coreDir).length).toBeGreaterThan(0);
  });

  it('src/core imports only src/core and src/domain, and reads no clock, randomness, timers or process', () => {
    const violations = checkTree(coreDir, [coreDir, domainDir], true);
    expect(format(violations)).toBe('');
  });

  it('src/domain imports only src/domain', () => {
    const violations = checkTree(domainDir, [domainDir], false);
    expect(format(violations)).toBe('');
  });

  describe('the checker itself', () => {
    const file = join(coreDir, 'example.ts');
    const allowed = [coreDir, domainDir];
    const problems = (source: string): string[] => checkSource(file, source, allowed, true).map((v) => v.problem);

    it.each([
      ["import { connect } from 'nats';"],
      ["import type { Logger } from 'pino';"],
      ["import { Registry } from 'prom-client';"],
      ["import { readFileSync } from 'node:fs';"],
      ["import fs from 'fs';"],
      ["import * as z from 'zod';"],
      ["export { x } from '../pipeline/index.js';"],
      ["import '../sinks/influx.js';"],
      ["const m = await import('../codec/index.js');"],
      ["const m = await import(name);"],
      ["import {\n  a,\n  b,\n} from '../telemetry/index.js';"],
      ["const t = Date.now();"],
      ["const d = new Date(0);"],
      ["const r = Math.random();"],
      ["setTimeout(() => {}, 1);"],
      ["const h = setInterval(f, 1);"],
      ["const t = performance.now();"],
      ["if (process.env.X) {}"],
      ["const x = require('os');"],
    ])('flags %s', (source) => {
      expect(problems(source).length).toBeGreaterThan(0);
    });

    it.each([
      ["import type { Reading } from '../domain/index.js';"],
      ["import { WindowEngine } from './window-engine.js';"],
      ["import { x } from './windows/buckets.js';"],
      ["export * from './alerts.js';"],
      ["// Date.now() is not used here; nor is setTimeout\nconst a = 1;"],
      ["/* import x from 'nats' */ const b = 2;"],
      ["const s = 'a // not a comment'; const n = Date.UTC(2024, 0, 1);"],
      ["const nowMs = input.nowMs; const processed = 1; myprocess.x = 2; job.process.y = 3;"],
    ])('accepts %s', (source) => {
      expect(problems(source)).toEqual([]);
    });
  });
});
