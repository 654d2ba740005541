// Regenerates docs/metrics.md from src/telemetry/metric-names.ts: every exported metric name
// with its doc comment, under the file's section comments (`// ── Title ──`).
// `npm run docs:metrics` writes the file; `node scripts/docs-metrics.mjs --check` exits 1 if
// the committed file differs (tests/unit/docs-generated.test.ts runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const SOURCE = 'src/telemetry/metric-names.ts';
const TARGET = 'docs/metrics.md';

/** Sections of the source, each with its metrics: { title, metrics: [{ constant, name, doc }] }. */
export function parseMetricNames(text) {
  const sections = [];
  const token = /\/\/ ── (.+?) ──|\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const ([A-Z0-9_]+)(?::[^=]+)? = '([^']+)';/g;
  const prefixes = { title: 'Runtime metrics (prom-client defaults, by prefix)', metrics: [] };
  for (const m of text.matchAll(token)) {
    if (m[1] !== undefined) {
      sections.push({ title: m[1].trim().replace(/\.$/, ''), metrics: [] });
      continue;
    }
    const doc = m[2].split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim()).join(' ').replace(/\s+/g, ' ').trim();
    if (m[3].endsWith('_PREFIX')) {
      prefixes.metrics.push({ constant: m[3], name: `${m[4]}*`, doc });
      continue;
    }
    if (sections.length === 0) sections.push({ title: 'Metrics', metrics: [] });
    sections.at(-1).metrics.push({ constant: m[3], name: m[4], doc });
  }
  return [...sections, prefixes].filter((s) => s.metrics.length > 0);
}

export function renderMetricsReference(text) {
  const lines = [
    '# Metrics reference',
    '',
    `<!-- Generated from ${SOURCE} by \`npm run docs:metrics\`; do not edit by hand. -->`,
    '',
    'Every metric Headroom exports on its Prometheus endpoint (`sinks.metrics`), named',
    '`headroom_<what>_<unit>` in base units, counters ending in `_total`. The names are exported',
    'constants; the Grafana dashboards and the alert rules are tested against them.',
    'How to scrape them and what the dashboards show: [outputs.md](outputs.md), [grafana.md](grafana.md).',
  ];
  for (const section of parseMetricNames(text)) {
    lines.push('', `## ${section.title}`, '', '| Metric | Constant | Meaning |', '| --- | --- | --- |');
    for (const m of section.metrics) lines.push(`| \`${m.name}\` | \`${m.constant}\` | ${m.doc.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n') + '\n';
}

const isMain = process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1];
if (isMain) {
  const root = new URL('../', import.meta.url);
  const text = renderMetricsReference(readFileSync(new URL(SOURCE, root), 'utf8'));
  const target = new URL(TARGET, root);
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(target, 'utf8');
    } catch (err) {
      process.stderr.write(`${TARGET}: ${String(err)}\n`);
    }
    if (committed !== text) {
      process.stderr.write(`${TARGET} is stale: run npm run docs:metrics\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target.pathname}\n`);
  }
}
