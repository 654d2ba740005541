/**
 * docs/config-reference.md, rendered from the config's JSON Schema (itself generated from the
 * zod schema and its `.describe()` texts), so the reference cannot drift from the code.
 * `npm run docs:config` rewrites the file; a unit test checks it is current.
 */
import { configJsonSchema, type JsonSchema } from './json-schema.js';

interface Row {
  key: string;
  type: string;
  /** `required`, a default value, or empty. */
  presence: string;
  description: string;
}

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function children(schema: JsonSchema, key: string): JsonSchema[] {
  const v = schema[key];
  return Array.isArray(v) ? v.filter(isSchema) : [];
}

function properties(schema: JsonSchema): [string, JsonSchema][] {
  const props = schema['properties'];
  return isSchema(props) ? Object.entries(props).filter((e): e is [string, JsonSchema] => isSchema(e[1])) : [];
}

function inline(value: unknown): string {
  return '`' + JSON.stringify(value) + '`';
}

/** A short type: `string`, `integer`, `duration or number`, `list of object`, `"file" \| "memory"`. */
function typeOf(schema: JsonSchema): string {
  if ('const' in schema) return inline(schema['const']);
  const values = schema['enum'];
  if (Array.isArray(values)) return values.map(inline).join(' \\| ');
  const anyOf = children(schema, 'anyOf');
  if (anyOf.length > 0) return [...new Set(anyOf.map(typeOf))].join(' or ');
  const type = schema['type'];
  if (Array.isArray(type)) return type.join(' or ');
  if (type === 'array') {
    const items = schema['items'];
    return isSchema(items) ? `list of ${typeOf(items)}` : 'list';
  }
  if (type === 'object' && isSchema(schema['additionalProperties'])) return 'map';
  return typeof type === 'string' ? type : 'any';
}

function describe(schema: JsonSchema): string {
  const d = schema['description'];
  return typeof d === 'string' ? d.replace(/\|/g, '\\|') : '';
}

/** Object schemas below `schema` whose keys get rows of their own: items, map values, object alternatives. */
function nested(schema: JsonSchema, key: string): [string, JsonSchema][] {
  const out: [string, JsonSchema][] = properties(schema).length > 0 ? [[key, schema]] : [];
  const items = schema['items'];
  if (isSchema(items)) out.push([`${key}[]`, items]);
  const values = schema['additionalProperties'];
  if (isSchema(values)) out.push([`${key}.<key>`, values]);
  for (const alt of children(schema, 'anyOf')) out.push([key, alt]);
  return out;
}

function rows(schema: JsonSchema, prefix: string, out: Row[], seen: Set<string>): void {
  const required = new Set(Array.isArray(schema['required']) ? schema['required'] : []);
  for (const [name, prop] of properties(schema)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    const presence = required.has(name) ? 'required' : 'default' in prop ? inline(prop['default']) : '';
    const row = { key, type: typeOf(prop), presence, description: describe(prop) };
    const id = JSON.stringify(row);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(row);
    }
    for (const [childKey, child] of nested(prop, key)) rows(child, childKey, out, seen);
  }
}

/** The variants of a union told apart by a `kind` constant (the source kinds). */
function kinds(schema: JsonSchema): [string, JsonSchema][] {
  return children(schema, 'anyOf').flatMap((alt): [string, JsonSchema][] => {
    const kind = properties(alt).find(([name]) => name === 'kind')?.[1]['const'];
    return typeof kind === 'string' ? [[kind, alt]] : [];
  });
}

function table(list: Row[]): string[] {
  return [
    '| Key | Type | Required / default | Description |',
    '| --- | --- | --- | --- |',
    ...list.map((r) => `| \`${r.key}\` | ${r.type} | ${r.presence} | ${r.description} |`),
  ];
}

function section(name: string, prop: JsonSchema, required: boolean): string[] {
  const lines = ['', `## \`${name}\``, '', `${describe(prop)}${required ? ' Required.' : ''}`.trim(), ''];
  const variants = kinds(prop).map(([kind, alt]): [string, JsonSchema, Row[]] => {
    const list: Row[] = [];
    rows(alt, name, list, new Set());
    return [kind, alt, list];
  });
  if (variants.length > 0) {
    // Keys every kind has, once; then what each kind adds.
    const id = (r: Row): string => (r.key.endsWith('.kind') ? r.key : JSON.stringify(r));
    const common = variants[0]![2].filter((r) => variants.every(([, , list]) => list.some((o) => id(o) === id(r))));
    const commonIds = new Set(common.map(id));
    const kindRow = common.find((r) => r.key.endsWith('.kind'));
    if (kindRow !== undefined) kindRow.type = variants.map(([kind]) => inline(kind)).join(' \\| ');
    lines.push(`Every kind (\`kind: ${variants.map(([kind]) => kind).join(' | ')}\`):`, '', ...table(common), '');
    for (const [kind, alt, list] of variants) {
      const own = list.filter((r) => !commonIds.has(id(r)));
      lines.push(`### \`${name}.kind: ${kind}\``, '', describe(alt), '');
      if (own.length > 0) lines.push(...table(own), '');
    }
    return lines;
  }
  const list: Row[] = [];
  rows({ properties: { [name]: prop } }, '', list, new Set());
  return [...lines, ...table(list.slice(1)), ''];
}

/** The whole page. */
export function renderConfigReference(schema: JsonSchema = configJsonSchema()): string {
  const required = new Set(Array.isArray(schema['required']) ? schema['required'] : []);
  const top = properties(schema);
  const parts = [
    '# Configuration reference',
    '',
    '<!-- Generated from the zod schema (src/config/schema/) by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every key a config file may hold, with its type, default and meaning, as the schema itself',
    'describes it. Values take units: durations `500ms`, `10s`, `15m`, `1h30m`; power `400kW`,',
    '`2.5MW` (a number is watts); sizes `10GB`, `1MiB` (a number is bytes). `a[]` is an item of',
    'the list `a`; `a.<key>` is a value of the map `a`. Objects are strict: an unknown key is an',
    'error. Cross-field rules (the tree, windows named elsewhere, redundancy pairs) are checked by',
    '`headroom validate`; [configuration.md](configuration.md) explains them. The same schema as',
    'JSON Schema (for editor completion) is `headroom schema`, committed as',
    '[config/headroom.schema.json](../config/headroom.schema.json).',
    '',
    ...top.map(([name]) => `- [\`${name}\`](#${name.toLowerCase()})`),
  ];
  for (const [name, prop] of top) parts.push(...section(name, prop, required.has(name)));
  return parts.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
