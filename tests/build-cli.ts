/**
 * Global setup of the projects whose tests run the built CLI (`node dist/cli/main.js …`): the
 * e2e project, and the integration project (promtool.test.ts runs `headroom rules`,
 * bench-smoke.test.ts runs the end-to-end bench, which runs the CLI, and group-process.test.ts
 * runs tests/helpers/group-worker.mjs on dist/). The unit project builds nothing.
 *
 * Builds `dist/` once per run, before any test file starts (so no file races to rebuild it),
 * unless the last build this setup made is newer than every input of the build: when `npm test`
 * runs both projects, the second finds the first one's build fresh.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Written after a build; its mtime is when that build started. Not in dist/ (npm pack ships dist/). */
const STAMP = join(root, 'node_modules/.cache/headroom/cli-build-stamp');
const CLI = join(root, 'dist/cli/main.js');
const INPUT_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newestMs = stat.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const name of readdirSync(path)) newestMs = Math.max(newestMs, newestMtimeMs(join(path, name)));
  return newestMs;
}

function mtimeMsOrNull(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch (err: unknown) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return null;
    throw err;
  }
}

function buildIsFresh(): boolean {
  const builtMs = mtimeMsOrNull(STAMP);
  if (builtMs === null || mtimeMsOrNull(CLI) === null) return false;
  const inputsMs = Math.max(newestMtimeMs(join(root, 'src')), ...INPUT_FILES.map((f) => newestMtimeMs(join(root, f))));
  return inputsMs < builtMs;
}

export default function setup(): void {
  if (buildIsFresh()) return;
  const startedMs = Date.now();
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  chmodSync(CLI, 0o755);
  // The stamp carries the build's start: a source saved during the build is newer, so rebuilt next run.
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, '');
  utimesSync(STAMP, new Date(startedMs), new Date(startedMs));
}
