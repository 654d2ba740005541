/**
 * `headroom topology import` and `diff` as an operator runs them. NetBox: recorded API
 * responses (tests/fixtures/netbox/responses.json, written from NetBox's documented REST API:
 * two sites, A/B feeds in racks, three-phase feeds, a planned feed, a feed without a PDU, a PDU
 * without a feed, a page size capped by the server) served by a local HTTP server that checks
 * the token, as NetBox does. Expected ratings are computed here from the feed's own numbers.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/domain/index.js';
import { configFromText } from '../helpers/config.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const TOKEN = '0123456789abcdef0123456789abcdef01234567';

let tmp: string;
let server: Server;
let netboxUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'headroom-topology-'));
  const responses = JSON.parse(await readFile(join(repoRoot, 'tests/fixtures/netbox/responses.json'), 'utf8')) as Record<string, unknown>;
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.setHeader('Content-Type', 'application/json');
    if (req.headers.authorization !== `Token ${TOKEN}`) {
      res.statusCode = 403;
      res.end(JSON.stringify({ detail: 'Invalid token' }));
      return;
    }
    const body = responses[req.url ?? ''];
    res.statusCode = body === undefined ? 404 : 200;
    res.end(JSON.stringify(body ?? { detail: 'Not found.' }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  netboxUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

function headroom(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [mainJs, ...args], { cwd: repoRoot, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

function nodesOf(text: string, site: string): Map<string, NodeSpec> {
  return new Map(configFromText(text, 'imported.yaml').topology.sites.find((s) => s.id === site)!.nodes.map((n) => [n.id, n]));
}

const threePhase = (volts: number, amps: number): number => Math.round(volts * amps * Math.sqrt(3));

describe('headroom topology import --netbox', () => {
  it('writes a config validate accepts: panels, feeds rated from V × A (× √3), A/B pairs, PDUs under their feeds', async () => {
    const out = join(tmp, 'netbox.yaml');
    const r = await headroom(['topology', 'import', '--netbox', netboxUrl, '-o', out], { NETBOX_TOKEN: TOKEN });
    expect(r.stderr).toContain('2 sites, 15 nodes');
    expect(r.code).toBe(0);
    const text = await readFile(out, 'utf8');
    const v = await headroom(['validate', out]);
    expect(v.code).toBe(0);

    const ash1 = nodesOf(text, 'ash1');
    // Three-phase 415 V × 32 A feeds, single-phase 230 V × 32 A and 208 V × 30 A; max utilization 80 %.
    expect(ash1.get('RPP-1A-R12-A')).toMatchObject({ parent: 'RPP-1A', level: 'feed', ratingWatts: threePhase(415, 32), derate: 0.8, meters: [], redundantWith: 'RPP-1B-R12-B' });
    expect(ash1.get('RPP-1B-R12-B')).toMatchObject({ parent: 'RPP-1B', ratingWatts: threePhase(415, 32), redundantWith: 'RPP-1A-R12-A' });
    expect(ash1.get('RPP-1A-R13-A')).toMatchObject({ ratingWatts: 230 * 32, redundantWith: 'RPP-1B-R13-B' });
    // A feed without a PDU is metered itself; it has no rack, so no partner.
    expect(ash1.get('RPP-1A-SPARE-1')).toMatchObject({ ratingWatts: 208 * 30, meters: ['RPP-1A-SPARE-1'] });
    expect(ash1.get('RPP-1A-SPARE-1')!.redundantWith).toBeUndefined();
    // No panel rating in NetBox: the sum of its live feeds, derate 1; with the custom field: that.
    expect(ash1.get('RPP-1A')).toMatchObject({ parent: null, level: 'panel', ratingWatts: threePhase(415, 32) + 230 * 32 + 208 * 30, derate: 1 });
    expect(ash1.get('RPP-1B')).toMatchObject({ ratingWatts: 150_000, derate: 0.8 });
    // PDUs: under the feed their inlet is cabled to; rated by maximum draw, else by the feed.
    expect(ash1.get('r12-pdu-a')).toMatchObject({ parent: 'RPP-1A-R12-A', level: 'pdu', ratingWatts: 22_000, derate: 0.8, meters: ['r12-pdu-a'] });
    expect(ash1.get('r12-pdu-b')).toMatchObject({ parent: 'RPP-1B-R12-B', ratingWatts: threePhase(415, 32), meters: ['r12-pdu-b'] });
    // A PDU on no feed is a root rated by its maximum draw; one with neither is left out.
    expect(ash1.get('lab-pdu')).toMatchObject({ parent: null, ratingWatts: 3680 });
    expect(ash1.has('old-pdu')).toBe(false);
    // Planned feeds are not energized.
    expect([...ash1.keys()].some((id) => id.includes('R14'))).toBe(false);
    expect(r.stderr).toContain("power feed 'R14-A' (panel 'RPP-1A') is planned: left out");
    expect(r.stderr).toContain("pdu 'old-pdu' is cabled to no power feed and has no maximum draw: left out");

    const fra3 = nodesOf(text, 'fra3');
    expect(fra3.get('PP-1-F1')).toMatchObject({ ratingWatts: threePhase(400, 63), meters: ['PP-1-F1'], redundantWith: 'PP-1-F2' });
    // Every page of the capped feed list was read (9 feeds, 4 a page), on the client's own host.
    expect(requests.filter((u) => u.startsWith('/api/dcim/power-feeds/'))).toHaveLength(3);
  });

  it('names meters by the template the user sets', async () => {
    const r = await headroom(['topology', 'import', '--netbox', netboxUrl, '--pdu-meter', '{site}-{rack}-{device}', '--feed-meter', 'bcm-{feed}'], { NETBOX_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    const ash1 = nodesOf(r.stdout, 'ash1');
    expect(ash1.get('r13-pdu-b')!.meters).toEqual(['ash1-R13-r13-pdu-b']);
    expect(ash1.get('RPP-1A-SPARE-1')!.meters).toEqual(['bcm-SPARE-1']);
  });

  it('--outlets: outlets that feed a device become nodes under their PDU, rated by connector × the feed\'s line-to-neutral voltage', async () => {
    const r = await headroom(['topology', 'import', '--netbox', netboxUrl, '--outlets'], { NETBOX_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    const ash1 = nodesOf(r.stdout, 'ash1');
    // r12-pdu-a is on a three-phase 415 V feed: 240 V line to neutral; C13 is 10 A, C19 16 A.
    const lineToNeutral = 415 / Math.sqrt(3);
    expect(ash1.get('r12-pdu-a-outlet-1')).toMatchObject({ parent: 'r12-pdu-a', level: 'outlet', ratingWatts: Math.round(10 * lineToNeutral), meters: ['r12-pdu-a-outlet-1'] });
    expect(ash1.get('r12-pdu-a-outlet-2')).toMatchObject({ parent: 'r12-pdu-a', ratingWatts: Math.round(16 * lineToNeutral) });
    // Nothing plugged into outlet-3; a hard-wired outlet has no connector rating.
    expect(ash1.has('r12-pdu-a-outlet-3')).toBe(false);
    expect(ash1.has('r13-pdu-a-outlet-1')).toBe(false);
    expect(r.stderr).toContain("outlet 'outlet-1' of pdu 'r13-pdu-a': no rating known for type 'hardwired': left out");
    expect(requests.some((u) => u.startsWith('/api/dcim/power-outlets/'))).toBe(true);
  });

  it('says plainly when the token is refused, missing, or NetBox is not there', async () => {
    const refused = await headroom(['topology', 'import', '--netbox', netboxUrl], { NETBOX_TOKEN: 'wrong' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('headroom: NetBox refused the token (403 on /api/dcim/sites/): check the token and its read permissions\n');
    const missing = await headroom(['topology', 'import', '--netbox', netboxUrl], { NETBOX_TOKEN: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('environment variable NETBOX_TOKEN is not set');
    const tokenFile = join(tmp, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    // A port nothing listens on: taken from the system, then let go.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((ok) => probe.close(ok));
    const closed = await headroom(['topology', 'import', '--netbox', `http://127.0.0.1:${port}`, '--token-file', tokenFile]);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(new RegExp(`^headroom: cannot reach NetBox at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });
});

describe('headroom topology import --csv', () => {
  it('reads a flat DCIM export through a column mapping', async () => {
    const csv = join(tmp, 'export.csv');
    await writeFile(csv, [
      'Asset;Fed From;Type;Capacity;Derate;Meter IDs;Role',
      'MSB-1;;switchgear;2000;100%;msb-1-main;facility',
      'UPS 1;MSB-1;ups;800;0.9;ups-1-out;it',
      'PDU-1A;UPS 1;pdu;150;;pdu-1a-in|pdu-1a-aux;',
      'PDU-1B;UPS 1;pdu;150kW;;pdu-1b-in;',
      ';;;;;;',
      'BAD;UPS 1;pdu;-5;;;',
    ].join('\n') + '\n');
    const out = join(tmp, 'csv.yaml');
    const r = await headroom(['topology', 'import', '--csv', csv, '--delimiter', ';', '--site', 'lab1', '-o', out,
      '--mapping', 'id=Asset,parent=Fed From,level=Type,rating=Capacity:kW,derate=Derate,meters=Meter IDs,role=Role']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('line 7 (BAD): rating -5 is not positive: row skipped');
    const lab = nodesOf(await readFile(out, 'utf8'), 'lab1');
    expect([...lab.keys()]).toEqual(['MSB-1', 'UPS-1', 'PDU-1A', 'PDU-1B']);
    expect(lab.get('MSB-1')).toMatchObject({ parent: null, level: 'switchgear', role: 'facility', ratingWatts: 2_000_000, derate: 1, meters: ['msb-1-main'] });
    expect(lab.get('UPS-1')).toMatchObject({ parent: 'MSB-1', role: 'it', ratingWatts: 800_000, derate: 0.9 });
    expect(lab.get('PDU-1A')).toMatchObject({ parent: 'UPS-1', ratingWatts: 150_000, derate: 0.8, meters: ['pdu-1a-in', 'pdu-1a-aux'] });
    expect(lab.get('PDU-1B')).toMatchObject({ ratingWatts: 150_000 });
  });

  it('names a mapping problem and exits 2', async () => {
    const csv = join(tmp, 'small.csv');
    await writeFile(csv, 'Asset,Type,Capacity\nA,pdu,10\n');
    const r = await headroom(['topology', 'import', '--csv', csv, '--site', 's', '--mapping', 'id=Asset,level=Type,rating=Power']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rating=Power: no such column (columns: Asset, Type, Capacity)');
  });
});

describe('headroom topology diff', () => {
  it('lists nodes added, removed, re-parented and re-rated; exit 1 when anything changed, 0 when not', async () => {
    const head = 'sites:\n  - id: s1\n    nodes:\n';
    const before = join(tmp, 'before.yaml');
    const after = join(tmp, 'after.yaml');
    await writeFile(before, head + [
      '      - { id: ups, level: ups, rating: 500kW, meters: [ups-m] }',
      '      - { id: pdu-1, parent: ups, level: pdu, rating: 100kW, meters: [p1] }',
      '      - { id: pdu-2, parent: ups, level: pdu, rating: 100kW, meters: [p2] }',
      '      - { id: old, parent: ups, level: pdu, rating: 50kW, meters: [o] }',
    ].join('\n') + '\n');
    await writeFile(after, head + [
      '      - { id: ups, level: ups, rating: 500kW, meters: [ups-m] }',
      '      - { id: pdu-1, parent: ups, level: pdu, rating: 150kW, meters: [p1] }',
      '      - { id: pdu-2, parent: pdu-1, level: pdu, rating: 100kW, meters: [p2] }',
      '      - { id: pdu-3, parent: ups, level: pdu, rating: 100kW, meters: [p3] }',
    ].join('\n') + '\n');
    const changed = await headroom(['topology', 'diff', before, after]);
    expect(changed.code).toBe(1);
    expect(changed.stdout.trimEnd().split('\n').sort()).toEqual([
      's1 old: removed (pdu, parent ups, 50kW × 0.8, meters o)',
      's1 pdu-1: re-rated: 100kW × 0.8 → 150kW × 0.8',
      's1 pdu-2: re-parented: ups → pdu-1',
      's1 pdu-3: added (pdu, parent ups, 100kW × 0.8, meters p3)',
    ]);
    const same = await headroom(['topology', 'diff', after, after]);
    expect(same.code).toBe(0);
    expect(same.stdout).toBe('');
  });

  it('shows what a re-import from NetBox changes after a feed was re-rated in the DCIM', async () => {
    const old = join(tmp, 'old.yaml');
    const r = await headroom(['topology', 'import', '--netbox', netboxUrl, '-o', old], { NETBOX_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    const edited = (await readFile(old, 'utf8')).replace(/(\{ id: RPP-1A-R13-A, [^}]*rating: )7\.36kW/, '$15.52kW');
    const older = join(tmp, 'older.yaml');
    await writeFile(older, edited);
    const d = await headroom(['topology', 'diff', older, old]);
    expect(d.code).toBe(1);
    expect(d.stdout).toBe('ash1 RPP-1A-R13-A: re-rated: 5.52kW × 0.8 → 7.36kW × 0.8\n');
  });
});
