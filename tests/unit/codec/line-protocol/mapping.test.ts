/**
 * Line protocol → readings: mappings, templates, units, and every failure reason; and the
 * decoder's own behaviour beyond the corpus (many lines, one bad line, precision, line numbers).
 */
import { describe, expect, it } from 'vitest';
import { decodeLineProtocol, decodeLineProtocolMessage, type LineProtocolMapping } from '../../../../src/codec/index.js';
import { parseConfigText } from '../../../../src/config/index.js';
import { configFromText } from '../../../helpers/config.js';

const T_NS = 1_767_571_200_000_000_000n; // 2026-01-05T00:00:00Z
const T_MS = 1_767_571_200_000;

const PDU: LineProtocolMapping = {
  measurement: 'pdu',
  meter: '{rack}-{feed}',
  fields: { watts: { field: 'power', factor: 1000 }, volts: { field: 'voltage', factor: 1 } },
};

/** `subjectSite` null: the subject gave no site. */
function decode(text: string, mappings: LineProtocolMapping[] = [PDU], subjectSite: string | null = 'ash1') {
  return decodeLineProtocolMessage(text, { precision: '1ns', mappings, maxMessageBytes: 1 << 20, receivedMs: T_MS + 5000, ...(subjectSite === null ? {} : { subjectSite }) });
}

describe('decoding many lines', () => {
  it('keeps the good lines around a bad one and names the bad line', () => {
    const r = decodeLineProtocol(`a v=1 ${T_NS}\nb v=oops ${T_NS}\n\n# note\nc v=3i ${T_NS}\n`);
    expect(r.points.map((p) => [p.measurement, p.line])).toEqual([['a', 1], ['c', 5]]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ line: 2, column: 5 }); // where the value starts
    expect(r.errors[0]!.message).toContain('field "v"');
  });

  it('scales timestamps by the precision and truncates the default time to it', () => {
    expect(decodeLineProtocol('m v=1 1767571200', { precision: '1s' }).points[0]!.timeNs).toBe(T_NS);
    expect(decodeLineProtocol('m v=1 1767571200123', { precision: '1ms' }).points[0]!.timeNs).toBe(T_NS + 123_000_000n);
    expect(decodeLineProtocol('m v=1', { precision: '1s', defaultTimeNs: T_NS + 999_999_999n }).points[0]!.timeNs).toBe(T_NS);
    // Past int64 nanoseconds after scaling: rejected, not wrapped.
    expect(decodeLineProtocol('m v=1 9223372036854775807', { precision: '1s' }).errors).toHaveLength(1);
  });

  it('reads escapes, every value type and CRLF line ends', () => {
    const r = decodeLineProtocol('we\\ ird\\,m,t\\=k=v\\ 1 s="a\\"b\\\\c\\n",i=-9223372036854775808i,u=18446744073709551615u,f=-1.5e3,b=FALSE 1\r\nx h=0x1p-2\r\n');
    expect(r.errors).toEqual([]);
    expect(r.points[0]).toMatchObject({ measurement: 'we ird,m', tags: [{ key: 't=k', value: 'v 1' }] });
    expect(r.points[0]!.fields.map((f) => f.value)).toEqual([
      { kind: 'string', value: 'a"b\\c\n' },
      { kind: 'int', value: -(2n ** 63n) },
      { kind: 'uint', value: 2n ** 64n - 1n },
      { kind: 'float', value: -1500 },
      { kind: 'bool', value: false },
    ]);
    expect(r.points[1]!.fields[0]!.value).toEqual({ kind: 'float', value: 0.25 });
  });
});

describe('mapping points to readings', () => {
  it('builds the meter from tags, scales units, takes the site from the subject', () => {
    const r = decode(`pdu,rack=r12,feed=a,agent_host=10.0.0.7 power=7.25,voltage=230.1,extra="x" ${T_NS + 1_500_000n}`);
    expect(r.failures).toEqual([]);
    expect(r.readings).toEqual([{ site: 'ash1', meter: 'r12-a', tsMs: T_MS + 1.5, watts: 7250, volts: 230.1 }]);
  });

  it('takes integer and unsigned fields as numbers, and a point without time at receipt', () => {
    const r = decode('pdu,rack=r1,feed=b power=3i,voltage=230u');
    expect(r.readings).toEqual([{ site: 'ash1', meter: 'r1-b', tsMs: T_MS + 5000, watts: 3000, volts: 230 }]);
  });

  it('uses the first mapping whose measurement matches, `*` for any', () => {
    const any: LineProtocolMapping = { measurement: '*', meter: '{id}', fields: { watts: { field: 'w', factor: 1 } } };
    const r = decode(`pdu,rack=r1,feed=a power=1 ${T_NS}\nups,id=ups-1 w=5 ${T_NS}`, [PDU, any]);
    expect(r.readings.map((x) => [x.meter, x.watts])).toEqual([['r1-a', 1000], ['ups-1', 5]]);
  });

  it('takes the site from a tag, and rejects one that differs from the subject', () => {
    const bySite: LineProtocolMapping = { ...PDU, site: { tag: 'dc' } };
    expect(decode(`pdu,dc=fra3,rack=r1,feed=a power=1 ${T_NS}`, [bySite], null).readings[0]!.site).toBe('fra3');
    expect(decode(`pdu,dc=fra3,rack=r1,feed=a power=1 ${T_NS}`, [bySite], 'ash1').failures.map((f) => f.reason)).toEqual(['site_mismatch']);
  });

  it('counts every way a point fails, by reason, and keeps the rest of the message', () => {
    const lines = [
      `pdu,rack=r1,feed=a power=1 ${T_NS}`, // good
      `snmp,agent_host=h uptime=5i ${T_NS}`, // unmapped: no mapping for the measurement
      `pdu,rack=r1 power=1 ${T_NS}`, // unmapped: tag 'feed' missing
      `pdu,rack=r1,feed=a/b power=1 ${T_NS}`, // bad_id
      `pdu,rack=r1,feed=a power="high" ${T_NS}`, // schema: a string where watts needs a number
      `pdu,rack=r1,feed=a current=3 ${T_NS}`, // no_value: none of the mapped fields
      `pdu,rack=r1,feed=a power=1e306 ${T_NS}`, // non_finite after scaling by 1000
      `pdu,rack=r1,feed=a power= ${T_NS}`, // malformed_line
    ];
    const r = decode(lines.join('\n'));
    expect(r.readings).toHaveLength(1);
    expect(r.failures.map((f) => f.reason).sort()).toEqual(['bad_id', 'malformed_line', 'no_value', 'non_finite', 'schema', 'unmapped', 'unmapped']);
    expect(r.failures.find((f) => f.reason === 'bad_id')!.detail).toContain("line 4: meter 'r1-a/b'");
  });

  it('rejects a message over maxMessageBytes without parsing it', () => {
    const r = decodeLineProtocolMessage(`pdu,rack=r1,feed=a power=1 ${T_NS}`, { precision: '1ns', mappings: [PDU], maxMessageBytes: 10, receivedMs: T_MS });
    expect(r).toEqual({ readings: [], failures: [{ reason: 'too_large', detail: expect.stringContaining('exceeds maxMessageBytes 10') as string }] });
  });
});

describe('source.lineProtocol in the config', () => {
  const base = `
sites:
  - id: s1
    nodes: [{ id: root, level: grid, rating: 1MW, meters: [m1] }]
source:
  kind: nats
  lineProtocol:
`;
  it('turns units into factors', () => {
    const input = configFromText(`${base}    - subjects: telemetry.*.telegraf\n      precision: 1s\n      mappings: [{ meter: '{id}', fields: { watts: { field: p, unit: kW, scale: 0.1 }, wattHours: { field: e, unit: MWh } } }]\n`, 'c.yaml').source.lineProtocol[0]!;
    expect(input.precision).toBe('1s');
    expect(input.mappings[0]).toEqual({ measurement: '*', meter: '{id}', fields: { watts: { field: 'p', factor: 100 }, wattHours: { field: 'e', factor: 1e6 } } });
  });

  it('names the path of a bad unit, an empty mapping and a bad subject pattern', () => {
    const r = parseConfigText(`${base}    - subjects: 'telemetry.>.x'\n      mappings: [{ meter: '{id}', fields: { watts: { field: p, unit: hp } } }, { meter: '{id}', fields: {} }]\n`, 'c.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain('source.lineProtocol[0].subjects');
    expect(paths).toContain('source.lineProtocol[0].mappings[0].fields.watts.unit');
    expect(paths).toContain('source.lineProtocol[0].mappings[1].fields');
  });
});
