import type { Command } from 'commander';
import { createProgram } from './program.js';

/** Width of the generated help: fixed, so the reference does not depend on the terminal. */
export const REFERENCE_HELP_WIDTH = 100;

/** Every command of the program as its help lists them, depth first, the program itself first. */
export function allCommands(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (c: Command): void => {
    out.push(c);
    // visibleCommands() adds commander's implicit `help [command]`, which is not a command object of ours.
    for (const sub of c.createHelp().visibleCommands(c)) if (c.commands.includes(sub)) walk(sub);
  };
  walk(program);
  return out;
}

/** `headroom`, `headroom replay`, ...: the command's name with its parents'. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The help text commander prints for `cmd --help`, at a fixed width. */
export function commandHelp(cmd: Command): string {
  cmd.configureHelp({ helpWidth: REFERENCE_HELP_WIDTH });
  return cmd.helpInformation().trimEnd();
}

/**
 * docs/cli.md: the help of every command, generated from the program itself (so the
 * reference cannot drift from the code). `npm run docs:cli` rewrites the file.
 */
export function renderCliReference(program: Command = createProgram()): string {
  const commands = allCommands(program);
  const parts = [
    '# Command-line reference',
    '',
    '<!-- Generated from the commander program (src/cli/program.ts) by `npm run docs:cli`; do not edit by hand. -->',
    '',
    'The help of every command, as `headroom <command> --help` prints it. The manual (docs/) explains',
    'what the commands are for; this page lists every flag.',
    '',
    ...commands.slice(1).map((c) => `- [\`${commandPath(c)}\`](#${commandPath(c).replace(/ /g, '-')})`),
  ];
  for (const c of commands) parts.push('', `## ${commandPath(c)}`, '', '```text', commandHelp(c), '```');
  return parts.join('\n') + '\n';
}
