/**
 * The core stays pure (STYLE.md): src/core imports only src/core and src/domain, and reads
 * no clock, randomness, timers or process state. src/domain imports only src/domain.
 * Only sources, sinks and pipeline import the NATS client; the in-process bus loads none of it;
 * codec parses and leaves files to the sources.
 * Checked on the source text with comments stripped (string contents are kept, so an
 * import specifier is still seen). No file in src/ reaches itself through its imports,
 * type-only imports included.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** The relative imports of one file, resolved to files (`./x.js` → `x.ts`, a folder → its index). */
export function relativeImports(file: string, source: string): string[] {
  const text = stripComments(source);
  const out: string[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const spec = m[1] ?? '';
      if (!spec.startsWith('./') && !spec.startsWith('../')) continue;
      const base = resolve(dirname(file), spec);
      const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
      const found = candidates.find((c) => existsSync(c) && c.endsWith('.ts'));
      if (found !== undefined) out.push(found);
    }
  }
  return out;
}

/** Every import circle in a graph (file → files it imports), each once, as a path back to its start. */
export function findCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components; a component of two or more files, or a file
  // importing itself, is a circle. Each is reported as one shortest walk around it.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) components.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => walkAround(graph, component));
}

/** A shortest path from the component's first file back to itself, inside the component. */
function walkAround(graph: ReadonlyMap<string, readonly string[]>, component: readonly string[]): string[] {
  const start = component[0] ?? '';
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue: string[] = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] ?? '';
    for (const next of graph.get(node) ?? []) {
      if (!inside.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...component];
}

function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of listTsFiles(dir)) graph.set(file, relativeImports(file, readFileSync(file, 'utf8')));
  return graph;
}

const coreDir = join(srcRoot, 'core');
const domainDir = join(srcRoot, 'domain');

/** Every specifier a file imports (type-only imports included), comments stripped. */
function specifiersOf(file: string): string[] {
  const text = stripComments(readFileSync(file, 'utf8'));
  return IMPORT_PATTERNS.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1] ?? ''));
}

/** The TypeScript file a relative specifier names (`./x.js` is written for `./x.ts`). */
function resolveImport(from: string, spec: string): string {
  const target = resolve(dirname(from), spec);
  const ts = target.replace(/\.js$/, '.ts');
  return existsSync(ts) ? ts : target;
}

/** Files reachable from `entry` through relative imports, with the packages each imports. */
function moduleGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (graph.has(file)) continue;
    const specs = specifiersOf(file);
    graph.set(file, specs.filter((spec) => !spec.startsWith('.')));
    for (const spec of specs) if (spec.startsWith('.')) todo.push(resolveImport(file, spec));
  }
  return graph;
}

const isNats = (spec: string): boolean => spec === 'nats' || spec.startsWith('nats/');

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

  it('no file in src/ reaches itself through its imports (type-only imports included)', () => {
    const circles = findCircles(importGraph(srcRoot));
    expect(circles.map((circle) => circle.map((file) => relative(repoRoot, file)).join(' → '))).toEqual([]);
  });

  describe('the circle finder itself', () => {
    const graphOf = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

    it('finds a two-file circle, a longer one and a file importing itself, each once', () => {
      const circles = findCircles(
        graphOf({ a: ['b'], b: ['a'], c: ['d'], d: ['e'], e: ['c', 'f'], f: [], g: ['g'], h: ['a'] }),
      );
      expect(circles).toEqual(expect.arrayContaining([['a', 'b', 'a'], ['c', 'd', 'e', 'c'], ['g', 'g']]));
      expect(circles).toHaveLength(3);
    });

    it('finds none in a graph that only fans in and out', () => {
      expect(findCircles(graphOf({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }))).toEqual([]);
    });

    it('sees type-only and re-exporting imports', () => {
      const file = join(srcRoot, 'sources', 'simulator', 'meters.ts');
      const source = "import type { FleetModel } from './model.js';\nexport type {\n  X,\n} from './prng.js';";
      expect(relativeImports(file, source).map((f) => relative(srcRoot, f))).toEqual([
        join('sources', 'simulator', 'model.ts'),
        join('sources', 'simulator', 'prng.ts'),
      ]);
    });
  });

  it('only src/sources, src/sinks and src/pipeline import nats', () => {
    const natsLayers = ['sources', 'sinks', 'pipeline'].map((d) => join(srcRoot, d));
    const outside = listTsFiles(srcRoot).filter((file) => !natsLayers.some((dir) => isInside(file, dir)));
    expect(outside.length).toBeGreaterThan(0);
    const importers = outside.filter((file) => specifiersOf(file).some(isNats)).map((file) => relative(repoRoot, file));
    expect(importers).toEqual([]);
  });

  it('the in-process bus and its source import nothing that imports nats', () => {
    const graph = moduleGraph(join(srcRoot, 'sources', 'memory-bus.ts'));
    // The walk follows the bus into the subject grammar, so it did walk.
    expect([...graph.keys()].map((f) => relative(srcRoot, f))).toContain(join('codec', 'subjects.ts'));
    const loaders = [...graph].filter(([, packages]) => packages.some(isNats)).map(([file]) => relative(repoRoot, file));
    expect(loaders).toEqual([]);
  });

  it('src/codec parses and does no I/O: no file, compression or line-reader modules', () => {
    const io = new Set(['node:fs', 'node:fs/promises', 'node:zlib', 'node:readline', 'fs', 'zlib', 'readline']);
    const files = listTsFiles(join(srcRoot, 'codec'));
    expect(files.length).toBeGreaterThan(0);
    const readers = files.filter((file) => specifiersOf(file).some((spec) => io.has(spec))).map((file) => relative(repoRoot, file));
    expect(readers).toEqual([]);
  });

  it('the module-graph walk sees nats behind the NATS source', () => {
    const graph = moduleGraph(join(srcRoot, 'sources', 'nats-source.ts'));
    expect([...graph.values()].some((packages) => packages.some(isNats))).toBe(true);
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
