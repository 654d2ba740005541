/**
 * The systemd unit of a worker, checked by systemd's own `systemd-analyze verify` (Debian's
 * systemd package): no unknown keys, no bad values, an executable ExecStart. The unit names
 * /usr/bin/node; on a machine whose node lives elsewhere the copy checked here names that one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from '../helpers/servers.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'headroom-systemd-'));
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function verify(unitText: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, 'headroom.service');
  await writeFile(file, unitText.replaceAll('/usr/bin/node ', `${process.execPath} `));
  try {
    const { stdout, stderr } = await run(findBinary('systemd-analyze', 'systemd'), ['verify', file]);
    return { ok: true, output: stdout + stderr };
  } catch (err: unknown) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('deploy/systemd/headroom.service', () => {
  it('passes systemd-analyze verify without a word', async () => {
    const unit = await readFile('deploy/systemd/headroom.service', 'utf8');
    const r = await verify(unit);
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it('is hardened: own user, read-only system but its state directory, restarts on failure but not on a config error', async () => {
    const unit = await readFile('deploy/systemd/headroom.service', 'utf8');
    for (const line of ['User=headroom', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/headroom', 'StateDirectory=headroom', 'NoNewPrivileges=yes', 'Restart=on-failure', 'RestartPreventExitStatus=2', 'EnvironmentFile=/etc/headroom/headroom.env']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/headroom\/dist\/cli\/main\.js run --config \/etc\/headroom\/config\.yaml --data-dir \/var\/lib\/headroom$/m);
  });

  it('verify does catch a misspelt key (the check above can fail)', async () => {
    const unit = await readFile('deploy/systemd/headroom.service', 'utf8');
    const r = await verify(unit.replace('ProtectSystem=strict', 'ProtectSytem=strict'));
    expect(r.output).toContain("Unknown key 'ProtectSytem'");
  });
});
