/**
 * The live summary of `headroom run --embedded` in a real terminal (tmux): it redraws in
 * place, so after several refreshes the terminal, scrollback included, holds one summary,
 * not one per refresh.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from '../helpers/servers.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const socket = `headroom-e2e-${process.pid}`;

let tmux: string;
let tmp: string;

beforeAll(async () => {
  tmux = findBinary('tmux', 'tmux');
  tmp = await mkdtemp(join(tmpdir(), 'headroom-tty-'));
});

afterAll(async () => {
  // Our own tmux server (its own socket), and with it the headroom process in it.
  if (tmux !== undefined) await run(tmux, ['-L', socket, 'kill-server']).catch(() => undefined);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** The pane's text; with `history`, the scrollback too. */
async function capture(history: boolean): Promise<string> {
  const { stdout } = await run(tmux, ['-L', socket, 'capture-pane', '-p', '-t', 'summary', ...(history ? ['-S', '-'] : [])]);
  return stdout;
}

describe('live summary on a terminal', () => {
  it('redraws in place: several refreshes leave one summary in the terminal and its scrollback', async () => {
    const command = [process.execPath, join(repoRoot, 'dist/cli/main.js'), 'run', '-c', join(repoRoot, 'config/demo-fleet.yaml'), '--embedded', '--summary-interval', '1s', '--metrics-listen', '127.0.0.1:0', '--data-dir', tmp];
    await run(tmux, ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'summary', '-x', '200', '-y', '50', command.map((a) => `'${a}'`).join(' ')], { cwd: repoRoot });
    // Wait (bounded) until the summary has been drawn for at least 4 s of uptime: 4 refreshes or more.
    const deadline = performance.now() + 60_000;
    let uptimeSeconds = 0;
    while (uptimeSeconds < 4) {
      if (performance.now() > deadline) throw new Error(`no summary with 4 s of uptime within 60 s:\n${await capture(true)}`);
      await new Promise((r) => setTimeout(r, 250));
      const m = /headroom · up (?:(\d+)m)?(\d+)s/.exec(await capture(false));
      if (m !== null) uptimeSeconds = Number(m[1] ?? 0) * 60 + Number(m[2]);
    }
    const all = await capture(true);
    expect(all.match(/headroom · up /g)).toHaveLength(1);
    expect(all.match(/^SITE +LOAD +HEADROOM/gm)).toHaveLength(1);
    expect(all).toMatch(/^ash1 +\S+ +\S+ +\d+\.\d% /m);
    expect(all).toMatch(/firing alerts/);
  });
});
