/**
 * `headroom decode` as an operator runs it: line protocol from a file or stdin, answers as
 * JSON in the corpus's shape (times exact past 2^53), `--batch` over corpus cases, and
 * `--mapping` showing the readings a Telegraf message becomes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-decode-'));
});
afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

function headroom(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [mainJs, ...args], { cwd: repoRoot, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      done({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('headroom decode', () => {
  it('prints the points of a message in the corpus shape, times exact', async () => {
    const file = join(tmp, 'msg.lp');
    await writeFile(file, 'pdu,rack=r1 power=7.5,n=9007199254740993i 1767571200000000001\n# comment\n');
    const { code, stdout } = await headroom(['decode', '--format', 'influx', file]);
    expect(code).toBe(0);
    expect(stdout).toBe('{"result":[{"name":"pdu","tags":[{"key":"rack","value":"r1"}],"fields":[{"key":"power","value":{"float":7.5}},{"key":"n","value":{"int":9007199254740993}}],"time":1767571200000000001}]}\n');
  });

  it('reads stdin, applies --precision and --default-time, and answers an error as {"error"}', async () => {
    const ok = await headroom(['decode', '--precision', '1s', '--default-time', '1767571200999999999', '-'], 'm v=1\nn v=2 1767571201\n');
    expect(JSON.parse(ok.stdout)).toEqual({ result: [
      { name: 'm', tags: [], fields: [{ key: 'v', value: { float: 1 } }], time: 1767571200000000000 },
      { name: 'n', tags: [], fields: [{ key: 'v', value: { float: 2 } }], time: 1767571201000000000 },
    ] });
    const bad = await headroom(['decode'], 'm,t= v=1\n');
    expect(bad.code).toBe(0);
    expect(JSON.parse(bad.stdout)).toEqual({ error: expect.stringContaining('line 1:') as string });
  });

  it('--batch answers corpus cases line by line as the corpus expects', async () => {
    const corpus = parseLossless(
      gunzipSync(await readFile(join(repoRoot, 'tests/fixtures/data/line-protocol/corpus-decode.json.gz'))).toString('utf8'),
      undefined,
      (n: string) => n,
    ) as { decode: Record<string, { input: { text: unknown; precision: string; defaultTime: string }; output: { result?: unknown; error?: string } }> };
    // Every valid case and a spread of invalid ones (the unit test takes them all).
    const all = Object.values(corpus.decode);
    const chosen = [...all.filter((c) => c.output.result !== undefined), ...all.filter((c) => c.output.error !== undefined).filter((_, i) => i % 20 === 0)];
    const input = chosen.map((c) => `{"text":${JSON.stringify(c.input.text)},"precision":${JSON.stringify(c.input.precision)},"defaultTime":${c.input.defaultTime}}`).join('\n');
    const { code, stdout } = await headroom(['decode', '--batch'], input + '\n');
    expect(code).toBe(0);
    const answers = stdout.trimEnd().split('\n').map((l) => parseLossless(l, undefined, (n: string) => n) as { result?: unknown; error?: string });
    expect(answers).toHaveLength(chosen.length);
    chosen.forEach((c, i) => {
      if (c.output.error !== undefined) expect(answers[i]!.error, JSON.stringify(c.input.text)).toBeDefined();
      else expect(normalize(answers[i]!.result), JSON.stringify(c.input.text)).toEqual(normalize(c.output.result));
    });
  });

  it('--mapping shows the readings a Telegraf message becomes, and why a point does not map', async () => {
    const config = join(tmp, 'telegraf.yaml');
    await writeFile(config, `
sites:
  - id: ash1
    nodes: [{ id: pdu-r12, level: pdu, rating: 20kW, meters: [r12-a] }]
source:
  kind: nats
  lineProtocol:
    - subjects: telemetry.*.telegraf
      precision: 1s
      mappings:
        - measurement: pdu
          meter: '{rack}-{feed}'
          fields: { watts: { field: power, unit: kW } }
`);
    const { code, stdout } = await headroom(['decode', '--mapping', config, '--subject', 'telemetry.ash1.telegraf'], 'pdu,rack=r12,feed=a power=7.25 1767571200\nsnmp,agent_host=h up=1i 1767571200\n');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { site: 'ash1', meter: 'r12-a', ts: 1767571200000, watts: 7250 },
      { reason: 'unmapped', error: "line 2: no mapping for measurement 'snmp'" },
    ]);
  });

  it('prints what docs/telegraf.md shows for its example message', async () => {
    const doc = await readFile(join(repoRoot, 'docs/telegraf.md'), 'utf8');
    const pdu = /^A line Telegraf then sends: `(.+)`\.$/m.exec(doc)![1]!;
    const other = /Telegraf input, `(.+)`:$/m.exec(doc)![1]!;
    const message = `${pdu}\n${other}\n`;
    // Each `$ npx headroom decode …` in the doc, with the lines it shows as output.
    const examples = [...doc.matchAll(/^\$ npx headroom (decode [^\n]+)\n((?:[^$#`\n][^\n]*\n)+)/gm)];
    expect(examples).toHaveLength(2);
    for (const [, command, shown] of examples) {
      const args = command!.replace(/ msg\.lp$/, ' -').split(' ');
      const { code, stdout } = await headroom(args, message);
      expect(code, command).toBe(0);
      expect(stdout, command).toBe(shown);
    }
  });

  it('names a bad flag and exits 2', async () => {
    const r = await headroom(['decode', '--precision', '1m'], 'm v=1\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--precision');
  });
});

/** Floats compare as numbers (the corpus writes 1 where we write 1), integers and times as text. */
function normalize(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'float' && typeof v === 'string' ? Number(v) : v))) as unknown;
}
