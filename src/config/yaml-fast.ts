/**
 * The fast route from config text to plain data, without the positioned document.
 *
 * The `yaml` package's document model (kept for line/column positions in error messages)
 * costs about 15 s of CPU and 1 GB for a 100,000-node config; js-yaml reads the same text
 * in under a second. js-yaml is given exactly the YAML 1.2 core schema as the `yaml`
 * package resolves it (same patterns, same conversions), and declines (returns undefined)
 * whatever the two could read differently: tags, anchors and aliases (the `yaml` package
 * caps alias expansion), directives (`%YAML 1.1` switches the schema), null keys and
 * collections as keys (stringified differently), `__proto__` keys,
 * and anything js-yaml refuses (duplicate keys, syntax errors, several documents). The
 * caller then takes the positioned path, which decides and reports exactly as before.
 */
import { createRequire } from 'node:module';

/** The slice of js-yaml used here (the package ships no types). */
interface JsYamlTypeOptions {
  kind: 'scalar';
  resolve: (data: string | null) => boolean;
  construct: (data: string | null) => unknown;
}
interface JsYamlSchema {
  extend(definition: { implicit: unknown[] }): JsYamlSchema;
}
interface JsYaml {
  Type: new (tag: string, options: JsYamlTypeOptions) => unknown;
  FAILSAFE_SCHEMA: JsYamlSchema;
  load(text: string, options: { schema: JsYamlSchema; filename?: string }): unknown;
}

const jsYaml = createRequire(import.meta.url)('js-yaml') as JsYaml;

/** A plain scalar's pattern and its conversion, as in the `yaml` package's core schema. */
type ScalarRule = readonly [pattern: RegExp, toValue: (s: string) => unknown];

/** One implicit type per tag (js-yaml keeps the last type of a tag): the first rule that matches converts. */
function scalarType(tag: string, rules: readonly ScalarRule[]): unknown {
  const match = (data: string | null): ScalarRule | undefined => rules.find(([pattern]) => pattern.test(data ?? ''));
  return new jsYaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (data) => match(data) !== undefined,
    construct: (data) => match(data)?.[1](data ?? ''),
  });
}

// yaml/dist/schema/{common/null,core/bool,core/int,core/float}.js, in the same order.
const CORE_SCHEMA = jsYaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    scalarType('null', [[/^(?:~|[Nn]ull|NULL)?$/, () => null]]),
    scalarType('bool', [[/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T']]),
    scalarType('int', [
      [/^0o[0-7]+$/, (s) => parseInt(s.substring(2), 8)],
      [/^[-+]?[0-9]+$/, (s) => parseInt(s, 10)],
      [/^0x[0-9a-fA-F]+$/, (s) => parseInt(s.substring(2), 16)],
    ]),
    scalarType('float', [
      [/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, (s) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY)],
      [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, (s) => parseFloat(s)],
      [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, (s) => parseFloat(s)],
    ]),
  ],
});

/**
 * What the fast path declines, found in the text. Conservative: the same characters in a
 * scalar or a comment (`note: see *this*`) only send the text down the positioned path.
 */
const DECLINED = new RegExp(
  [
    // A tag (`!`), an anchor (`&name`) or an alias (`*name`) where a node may start; a lone
    // `&` or `*` (`# A & B`) is neither.
    String.raw`(?:^|[\s[{,:])(?:[&*][^\s,[\]{}]|!)`,
    // A directive (`%YAML 1.1` switches the schema).
    String.raw`^%`,
    // A null key (`~: x`, `: x`): the `yaml` package makes it '', js-yaml 'null'. A
    // collection as a key (`[a, b]: x`, `? x`): the two stringify it differently. Both only
    // where a key starts: a line's indentation, `- `, or `{`, `[`, `,` in a flow collection
    // (an implicit key is at most 1024 characters, which also bounds the scan).
    String.raw`(?:^[ \t]*|-[ \t]+|[{,[][ \t]*)(?:(?:~|null|Null|NULL)?[ \t]*:(?=[\s,[\]{}]|$)|[[{][^\n]{0,1024}?[\]}][ \t]*:(?=[\s,[\]{}]|$)|\?(?=\s|$))`,
  ].join('|'),
  'm',
);

/** Plain data of a single YAML (or JSON) document, or undefined when the fast path declines. */
export function parseYamlFast(text: string): unknown {
  if (DECLINED.test(text) || text.includes('__proto__')) return undefined;
  try {
    return jsYaml.load(text, { schema: CORE_SCHEMA });
  } catch (err: unknown) {
    // Declined, not failed: the positioned path reads the text again and reports the error
    // with its position (or reads what js-yaml refused, as before).
    if (err instanceof Error) return undefined;
    throw err;
  }
}
