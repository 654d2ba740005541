/**
 * The fast path (js-yaml with the `yaml` package's core schema, no positioned document)
 * must read exactly what the positioned path reads, or decline; errors keep their
 * positions because they always come from the positioned path.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseConfigText, parsePositioned } from '../../../src/config/load.js';
import { parseYamlFast } from '../../../src/config/yaml-fast.js';

const ROOT = join(import.meta.dirname, '../../..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(e.name) ? [path] : [];
  });
}

/** What the positioned path reads (the `yaml` package's document model), or undefined on a YAML error. */
function positionedData(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  return doc.errors.length > 0 ? undefined : doc.toJS();
}

const CONFIG_FILES = [...yamlFiles(join(ROOT, 'config')), ...yamlFiles(join(ROOT, 'tests/fixtures/config')), ...yamlFiles(join(ROOT, 'tests/fixtures/golden'))];

describe('the fast path reads every shipped config and fixture as the positioned path does', () => {
  it('finds the configs', () => {
    expect(CONFIG_FILES.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining(['config/demo-fleet.yaml', 'config/minimal.yaml', 'config/production-example.yaml', 'tests/fixtures/config/issue-example.yaml']),
    );
  });

  it.each(CONFIG_FILES.map((f) => [relative(ROOT, f), f]))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const fast = parseYamlFast(text);
    // Not declined: these files are what the fast path is for.
    expect(fast).not.toBeUndefined();
    expect(fast).toEqual(positionedData(text));
    expect(parseConfigText(text, file)).toEqual(parsePositioned(text, file));
  });
});

describe('plain scalars resolve as in the YAML 1.2 core schema of the `yaml` package', () => {
  const scalars = [
    '1', '+12', '-0', '012', '1_000', '0b11', '0o17', '0o18', '0x1F', '0X1F', '-0x1F', '1e3', '1E-3', '.5', '1.', '-1.5e-3', '1.5e', '.inf', '-.Inf', '+.INF', '.NaN', '.nan', 'nan',
    'true', 'True', 'TRUE', 'tRue', 'yes', 'no', 'on', 'off', 'y', 'n', '~', 'null', 'Null', 'NULL', 'nUll', '', '2024-01-01', '12:30:00', '1:2', '10s', '2.5MW', '"1"', "'true'", '"a\\tb"', '|\n  block\n', '>\n  folded\n  text\n',
  ];
  it.each(scalars)('%j', (scalar) => {
    const text = `v: ${scalar}\n`;
    const fast = parseYamlFast(text);
    expect(fast).not.toBeUndefined();
    expect(fast).toEqual(positionedData(text));
  });

  it('for any plain scalar made of number-like characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-fA-FoxXeE._+-]{1,8}$/), (scalar) => {
        const text = `v: ${scalar}\n`;
        const expected = positionedData(text);
        const fast = parseYamlFast(text);
        // Either both read it alike, or the fast path declines and the positioned path decides.
        if (fast !== undefined) expect(fast).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('for any JSON-like value written as YAML or JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, asJson) => {
        const text = asJson ? JSON.stringify({ v: value }) : `v: ${JSON.stringify(value)}\n`;
        const fast = parseYamlFast(text);
        if (fast !== undefined) expect(fast).toEqual(positionedData(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('keys resolve as the positioned path reads them, or the fast path declines', () => {
  const keys = ['~', 'null', 'NULL', '', '"~"', "'null'", '1.0', 'true', '.inf', '0x1F', '0o17', '-0', '[a, b]', '{a: 1}', '? x\n', 'a b', 'a : b'];
  it.each(keys)('%j', (key) => {
    const text = `${key}: v\n`;
    const fast = parseYamlFast(text);
    if (fast !== undefined) expect(fast).toEqual(positionedData(text));
  });

  it.each(['~: v\n', 'null: v\n', ': v\n', '[a, b]: v\n', '{a: 1}: v\n', '? x\n: v\n', '{ ~: v }\n'])('declines the key of %j', (text) => {
    expect(parseYamlFast(text)).toBeUndefined();
  });
});

describe('the fast path declines what it could read differently', () => {
  it.each([
    ['a tag', 'v: !!str 12\n'],
    ['a custom tag', 'v: !thing 12\n'],
    ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
    ['a merge key', 'a: &x { k: 1 }\nb: { <<: *x }\n'],
    ['a directive', '%YAML 1.1\n---\nv: yes\n'],
    ['a duplicate key', 'v: 1\nv: 2\n'],
    ['two documents', 'v: 1\n---\nv: 2\n'],
    ['a __proto__ key', '__proto__: { polluted: 1 }\n'],
    ['a syntax error', 'sites:\n  - id: a\n    nodes: [\n'],
  ])('%s', (_what, text) => {
    expect(parseYamlFast(text)).toBeUndefined();
  });
});

describe('an invalid config is reported by the positioned path', () => {
  const site = (nodes: string[]): string => ['sites:', '  - id: s1', '    nodes:', ...nodes.map((n) => `      - ${n}`), ''].join('\n');

  it.each([
    ['an unknown parent', site(['{ id: a, level: rack, rating: 1kW }', '{ id: b, parent: zz, level: rack, rating: 1kW }'])],
    ['a bad unit deep in a block mapping', `${site(['{ id: a, level: rack, rating: 1kW }'])}    contract: 2 furlongs\n`],
    ['a YAML error', 'sites:\n  - id: a\n    nodes: [\n'],
    ['a duplicate key', 'sites: []\nsites: []\n'],
    ['an empty file', ''],
    ['a list at the top', '- a\n- b\n'],
  ])('%s: same issues, paths and positions', (_what, text) => {
    const result = parseConfigText(text, 'test.yaml');
    expect(result.ok).toBe(false);
    expect(result).toEqual(parsePositioned(text, 'test.yaml'));
  });

  it('keeps the line and column of an issue found after the fast path read the text', () => {
    const text = site(['{ id: a, level: rack, rating: 1kW }', '{ id: b, parent: zz, level: rack, rating: 1kW }']);
    // The fast path reads this text; validation fails, so the positioned path reports.
    expect(parseYamlFast(text)).not.toBeUndefined();
    const result = parseConfigText(text, 'test.yaml');
    expect(result.ok ? [] : result.issues).toEqual([{ path: 'sites[0].nodes[1].parent', message: "unknown node 'zz'", line: 5, column: 26 }]);
  });
});
