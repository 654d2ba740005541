/**
 * Runs once before any test file: builds `dist/` so end-to-end tests run the CLI exactly as a
 * user does (`node dist/cli/main.js …`) on the current sources, without each file racing to
 * rebuild it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  chmodSync(join(root, 'dist/cli/main.js'), 0o755);
}
