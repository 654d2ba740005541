/**
 * Docs and code agree on the command line: docs/cli.md is what the generator makes from the
 * commander program now (`npm run docs:cli`), it shows every flag of every command, and every
 * `--flag` the README and docs/*.md write exists on the command it is written with (or, in
 * prose that names no command, on some command).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { allCommands, commandPath, renderCliReference } from '../../../src/cli/cli-reference.js';
import { createProgram } from '../../../src/cli/program.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI_MD = 'docs/cli.md';

/** Long flags of a command as a user types them, `--no-alerts` included; help and version too. */
function longFlags(cmd: Command): Set<string> {
  const flags = new Set<string>();
  for (const opt of cmd.createHelp().visibleOptions(cmd)) {
    if (opt.long !== undefined) flags.add(opt.long);
  }
  return flags;
}

const program = createProgram();
const commands = allCommands(program);
/** Flags by command path below the program: `run`, `topology import`. */
const flagsByCommand = new Map<string, Set<string>>(commands.slice(1).map((c) => [commandPath(c).split(' ').slice(1).join(' '), longFlags(c)]));
const globalFlags = longFlags(program);
const anyFlag = new Set([...globalFlags, ...[...flagsByCommand.values()].flatMap((s) => [...s])]);

/** Tools other than headroom whose flags the docs show (`node --expose-gc`, `influx ... --db`). */
const OTHER_TOOLS = /^(?:\$\s+)?(?:node|npm|npx\s+(?!headroom\b)|tsc|docker|podman|kubectl|influx|promtool|amtool|nats-server|nats|git|systemctl|curl|vitest|eslint)\b/;
const FLAG = /(?<![\w-])--[a-z][a-z0-9-]*/g;
const HEADROOM_COMMAND = /\bheadroom\s+([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)/;

/** The longest known command path that `words` (after `headroom`) begins with. */
function knownCommand(words: string): string | undefined {
  const parts = words.split(/\s+/);
  for (let n = parts.length; n > 0; n--) {
    const path = parts.slice(0, n).join(' ');
    if (flagsByCommand.has(path)) return path;
  }
  return undefined;
}

interface FlagUse {
  file: string;
  line: number;
  flag: string;
  /** The command the text runs or documents; undefined: prose about no particular command. */
  command?: string;
  text: string;
}

/** The command of a heading such as "### `headroom replay`". */
function headingCommand(heading: string): string | undefined {
  const m = HEADROOM_COMMAND.exec(heading);
  return m === null ? undefined : knownCommand(m[1]!);
}

/**
 * Flags written in a markdown file, each with the command it belongs to: a shell line or code
 * span running `headroom <cmd>`, or a flag table row (`| \`--flag …\` |`) under a heading
 * (or a "Flags of `headroom <cmd>`:" line) naming the command. Lines and spans that run
 * other tools are left out.
 */
function flagUses(file: string, text: string): FlagUse[] {
  const uses: FlagUse[] = [];
  const lines = text.split('\n');
  let fence: string | null = null;
  let section: string | undefined;
  let pending = '';
  let pendingLine = 0;
  const collect = (segment: string, lineNo: number, command: string | undefined): void => {
    if (OTHER_TOOLS.test(segment.trim())) return;
    const runs = HEADROOM_COMMAND.exec(segment);
    const cmd = (runs === null ? undefined : knownCommand(runs[1]!)) ?? command;
    for (const m of segment.matchAll(FLAG)) uses.push({ file, line: lineNo, flag: m[0], ...(cmd === undefined ? {} : { command: cmd }), text: segment.trim() });
  };
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const fenceMatch = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(raw);
    if (fenceMatch !== null) {
      fence = fence === null ? (fenceMatch[2] ?? '') : null;
      return;
    }
    if (fence !== null) {
      // Shell and plain blocks only (YAML, JSON, SQL, Flux hold no flags of ours).
      if (!['', 'sh', 'bash', 'shell', 'console', 'text'].includes(fence)) return;
      if (pending === '') pendingLine = lineNo;
      pending += raw.replace(/\\\s*$/, ' ');
      if (/\\\s*$/.test(raw)) return;
      // Each command of a shell line on its own: `a && b`, `a; b`, `a | b`.
      for (const segment of pending.split(/&&|;|\|\|?/)) collect(segment, pendingLine, undefined);
      pending = '';
      return;
    }
    // A heading, or a lead-in such as "Flags of `headroom run`:", names the command of the flag tables below it.
    const heading = /^#{1,6}\s+(.*)$/.exec(raw) ?? /^(Flags of `headroom [a-z-]+`):\s*$/.exec(raw);
    if (heading !== null) {
      section = headingCommand(heading[1]!);
      return;
    }
    const flagRow = /^\|\s*`--?[a-z]/.test(raw);
    for (const span of raw.matchAll(/`([^`]+)`/g)) collect(span[1]!, lineNo, flagRow ? section : undefined);
    // Prose outside code spans: no command of its own.
    collect(raw.replace(/`[^`]*`/g, ' '), lineNo, undefined);
  });
  return uses;
}

function docFiles(): string[] {
  const docs = readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

describe('CLI reference (docs/cli.md)', () => {
  it('docs/cli.md is what `npm run docs:cli` generates from the program now', () => {
    const committed = readFileSync(join(repoRoot, CLI_MD), 'utf8');
    expect(committed === renderCliReference(createProgram()), `${CLI_MD} is stale: run npm run docs:cli`).toBe(true);
  });

  it('shows every flag of every command in that command\'s section', () => {
    const text = readFileSync(join(repoRoot, CLI_MD), 'utf8');
    const sections = new Map(text.split(/^## /m).slice(1).map((s) => [s.slice(0, s.indexOf('\n')).trim(), s]));
    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const cmd of commands) {
      const section = sections.get(commandPath(cmd));
      expect(section, `section for ${commandPath(cmd)}`).toBeDefined();
      const shown = new Set(section!.match(FLAG) ?? []);
      for (const flag of longFlags(cmd)) expect(shown.has(flag), `${commandPath(cmd)} ${flag} in ${CLI_MD}`).toBe(true);
    }
  });

  it('the README links the reference from its command table', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Command line'), readme.indexOf('## Configuration'));
    expect(table).toContain('(docs/cli.md)');
  });
});

describe('flags written in the docs exist', () => {
  it('the extractor sees flags in shell lines, code spans, flag tables and prose, and skips other tools', () => {
    const sample = [
      '### `headroom replay`',
      '| `--reorder-window D` | x |',
      'Flags of `headroom run`:',
      '| `--data-dir DIR` | x |',
      '```sh',
      'npx headroom record -o x --stream S \\',
      '  --stop-at-end',
      'node --expose-gc dist-bench/bench/core.bench.js',
      '```',
      'Prose with `--meters` and `headroom run --embedded`.',
    ].join('\n');
    const uses = flagUses('sample.md', sample).map((u) => `${u.command ?? '*'} ${u.flag}`);
    expect(uses.sort()).toEqual(['* --meters', 'record --stop-at-end', 'record --stream', 'replay --reorder-window', 'run --data-dir', 'run --embedded'].sort());
  });

  it('the manual (README and docs/, the generated reference aside) writes more than 50 flags, so the check above has something to check', () => {
    const uses = docFiles()
      .filter((file) => file !== CLI_MD)
      .flatMap((file) => flagUses(file, readFileSync(join(repoRoot, file), 'utf8')));
    expect(uses.length).toBeGreaterThan(50);
  });

  for (const file of docFiles()) {
    it(`every --flag in ${file} exists on the command it is written with`, () => {
      const uses = flagUses(file, readFileSync(join(repoRoot, file), 'utf8'));
      const wrong = uses.filter((u) => {
        if (globalFlags.has(u.flag)) return false;
        return u.command === undefined ? !anyFlag.has(u.flag) : !flagsByCommand.get(u.command)!.has(u.flag);
      });
      expect(wrong.map((u) => `${u.file}:${u.line}: ${u.flag} (${u.command === undefined ? 'no command has it' : `not a flag of headroom ${u.command}`}) in: ${u.text}`)).toEqual([]);
    });
  }
});
