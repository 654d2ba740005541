/** Config text → HeadroomConfig or readable issues (`sites[0].nodes[3].parent: unknown node 'hal-1'`). */
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { ZodIssue } from 'zod';
import { headroomConfigSchema, UNKNOWN_KEYS_SEPARATOR, type HeadroomConfig } from './schema/index.js';
import { checkTopologyRules, type IssuePath } from './topology-rules.js';
import { parseYamlFast } from './yaml-fast.js';

export interface ConfigIssue {
  /** Path in the document, like `sites[0].nodes[3].parent`; '' for the whole file. */
  path: string;
  message: string;
  /** 1-based position in the YAML text, when known. */
  line?: number;
  column?: number;
}

export type ConfigResult = { ok: true; config: HeadroomConfig } | { ok: false; issues: ConfigIssue[] };

/** `sites`, 0, `nodes` → `sites[0].nodes`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** One line per problem: `FILE: sites[0].nodes[3].parent: unknown node 'hal-1'`. */
export function formatIssues(sourceName: string, issues: readonly ConfigIssue[]): string {
  return issues.map((i) => (i.path === '' ? `${sourceName}: ${i.message}` : `${sourceName}: ${i.path}: ${i.message}`)).join('\n');
}

interface RawIssue {
  path: IssuePath;
  message: string;
  /** Zod found something other than a mapping where one was expected. */
  notAMapping?: boolean;
}

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function describeValue(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v;
}

/** Zod issue → readable issues (one per unknown key). */
function fromZod(issue: ZodIssue): RawIssue[] {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const parts = issue.message.split(UNKNOWN_KEYS_SEPARATOR);
      return issue.keys.map((key, i) => ({
        path: [...issue.path, key],
        message: parts.length === issue.keys.length ? (parts[i] ?? 'unknown key') : `unknown key '${key}'`,
      }));
    }
    case 'invalid_type':
      if (issue.received === 'undefined') return [{ path: issue.path, message: 'required' }];
      return [{ path: issue.path, notAMapping: issue.expected === 'object', message: `expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected}, got ${issue.received === 'object' ? 'a mapping' : issue.received === 'array' ? 'a list' : issue.received}` }];
    case 'invalid_enum_value':
      return [{ path: issue.path, message: `expected one of ${issue.options.join(', ')}, got '${String(issue.received)}'` }];
    case 'invalid_union_discriminator':
      return [{ path: issue.path, message: `expected one of ${issue.options.map(String).join(', ')}` }];
    case 'invalid_literal':
      return [{ path: issue.path, message: `expected ${String(issue.expected)}` }];
    default:
      return [{ path: issue.path, message: lowerFirst(issue.message) }];
  }
}

function dedupe(issues: RawIssue[]): RawIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${formatPath(i.path)}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Position of the deepest existing node on the path. */
function positionOf(doc: Document, lines: LineCounter, path: IssuePath): { line: number; column: number } | undefined {
  for (let len = path.length; len >= 0; len--) {
    const node: unknown = len === 0 ? doc.contents : doc.getIn(path.slice(0, len), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      const pos = lines.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return undefined;
}

function validate(data: unknown): { ok: true; config: HeadroomConfig } | { ok: false; issues: RawIssue[] } {
  const parsed = headroomConfigSchema.safeParse(data);
  if (parsed.success) return { ok: true, config: parsed.data };
  const issues = parsed.error.issues.flatMap(fromZod);
  // The refinement does not run when the schema failed hard: check the raw topology too,
  // so a schema error and a cross-field error are reported in one go.
  const sites = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>)['sites'] : undefined;
  issues.push(...checkTopologyRules(sites));
  return { ok: false, issues: dedupe(issues) };
}

/** Validates an already-parsed document (plain data, e.g. an object built in code). Issues carry no positions. */
export function validateConfig(data: unknown): ConfigResult {
  const result = validate(data);
  if (result.ok) return result;
  return { ok: false, issues: result.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
}

/**
 * Parses YAML (or JSON) config text. `sourceName` names the text in messages.
 *
 * A valid config is read on the fast path (plain data, no positioned document). Anything
 * else (a YAML error, an invalid config, or text the fast path declines) is read again on
 * the positioned path, which reports every issue with its path and line/column.
 */
export function parseConfigText(text: string, sourceName: string): ConfigResult {
  const data = parseYamlFast(text);
  if (data !== undefined && data !== null) {
    const result = validate(data);
    if (result.ok) return result;
    // The fast path read the same data the document holds: only positions are missing.
    return positioned(text, sourceName, { data, issues: result.issues });
  }
  return positioned(text, sourceName);
}

/** The positioned path alone: the `yaml` document model, kept for line/column positions. */
export function parsePositioned(text: string, sourceName: string): ConfigResult {
  return positioned(text, sourceName);
}

/** `known`: the data and issues the fast path found, so that the schema does not run twice. */
function positioned(text: string, sourceName: string, known?: { data: unknown; issues: RawIssue[] }): ConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', message: `YAML syntax error at line ${pos.line}, column ${pos.col}: ${e.message}`, line: pos.line, column: pos.col };
      }),
    };
  }
  let data: unknown = known?.data;
  try {
    if (known === undefined) data = doc.toJS();
  } catch (err: unknown) {
    return { ok: false, issues: [{ path: '', message: `cannot read ${sourceName}: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  if (data === null || data === undefined) {
    return { ok: false, issues: [{ path: '', message: 'the file is empty: expected a mapping with at least `sites`' }] };
  }
  const result = known === undefined ? validate(data) : { ok: false as const, issues: known.issues };
  if (result.ok) return result;
  const located = result.issues.map((i) => {
    const topLevel = i.path.length === 0 && i.notAMapping === true;
    const issue: ConfigIssue = {
      path: formatPath(i.path),
      message: topLevel ? `the top level must be a mapping, got ${describeValue(data)}` : i.message,
    };
    const pos = positionOf(doc, lines, i.path);
    if (pos !== undefined) {
      issue.line = pos.line;
      issue.column = pos.column;
    }
    return issue;
  });
  // Document order reads best; issues without a position keep their order, last.
  const rank = (i: ConfigIssue): number => (i.line === undefined ? Infinity : i.line * 1e6 + (i.column ?? 0));
  const ordered = located
    .map((issue, n) => ({ issue, n }))
    .sort((a, b) => rank(a.issue) - rank(b.issue) || a.n - b.n)
    .map((x) => x.issue);
  return { ok: false, issues: ordered };
}

/** Reads and parses a config file. An unreadable file is an issue, not an exception. */
export function loadConfigFile(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const reason = code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    return { ok: false, issues: [{ path: '', message: `cannot read config file: ${reason}` }] };
  }
  return parseConfigText(text, path);
}
