/**
 * `headroom run` with a config that configures no output (no sink, not --embedded) warns on
 * start instead of running silently, and still stops cleanly on SIGINT.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');

describe('headroom run without outputs', () => {
  it('warns that window results go nowhere, then runs until SIGINT and exits 0', async () => {
    // One site, no sinks, the default source (the in-process bus fed by the simulator).
    const child = spawn(process.execPath, [mainJs, 'run', '--config', 'tests/fixtures/golden/mlperf-ptdaemon.yaml'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = performance.now() + 30_000;
    while (!stdout.includes('headroom: running') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(stdout, stderr).toContain('headroom: running');
    child.kill('SIGINT');
    expect(await exit, stderr).toBe(0);
    const warnings = stderr.split('\n').filter((l) => l.includes('no output configured'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!) as { level: number; config: string }).toMatchObject({ level: 40, config: 'tests/fixtures/golden/mlperf-ptdaemon.yaml' });
  });
});
