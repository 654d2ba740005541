/**
 * Benchmark figures as JSON, next to the printed table: `--json FILE` on any bench writes
 * `{ bench, machine, figures }` there, so a run can be archived, compared and smoke-tested.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export type Figures = Record<string, unknown>;

export interface BenchReport {
  bench: string;
  /** ISO time the report was written. */
  at: string;
  machine: { nproc: number; cpuModel: string; node: string; platform: string };
  figures: Figures;
}

/** The path after `--json` in `argv`, or undefined when absent. Throws when `--json` has no value. */
export function jsonPathFromArgs(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--json');
  if (at === -1) return undefined;
  const path = argv[at + 1];
  if (path === undefined || path.startsWith('--')) throw new Error('--json needs a file path');
  return path;
}

export function machine(): BenchReport['machine'] {
  const list = cpus();
  return { nproc: list.length, cpuModel: list[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** Writes the report when the command line asked for `--json FILE`; returns the path written, if any. */
export function writeReport(bench: string, figures: Figures, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  const path = jsonPathFromArgs(argv);
  if (path === undefined) return undefined;
  const report: BenchReport = { bench, at: new Date().toISOString(), machine: machine(), figures };
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

/** An env knob as a positive number, else the default; throws on garbage so a typo is not a silent default. */
export function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got '${text}'`);
  return value;
}
