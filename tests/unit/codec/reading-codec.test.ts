import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeReading, encodeReadingBytes } from '../../../src/codec/index.js';
import type { DecodeFailureReason, DecodeResult, Reading } from '../../../src/domain/index.js';

const MAX = 64 * 1024;
const opts = { maxMessageBytes: MAX };
const enc = new TextEncoder();

function decode(payload: unknown, subjectSite?: string): DecodeResult {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return decodeMessage(text, subjectSite === undefined ? opts : { ...opts, subjectSite });
}

function reasonOf(payload: unknown, subjectSite?: string): DecodeFailureReason | undefined {
  const result = decode(payload, subjectSite);
  expect(result.readings).toHaveLength(0);
  expect(result.failures).toHaveLength(1);
  return result.failures[0]?.reason;
}

const good = { site: 'dc1', meter: 'pdu-a1', ts: 1_700_000_000_000, watts: 1234.5 };

describe('decodeMessage: single readings', () => {
  it('decodes a full reading, from bytes and from a string', () => {
    const full = {
      ...good,
      wattHours: 10,
      voltAmperes: 1300,
      powerFactor: 0.95,
      volts: 415,
      amps: 3.1,
      hertz: 50.01,
      pricePerMWh: 80.5,
      carbonGramsPerKWh: 210,
    };
    const expected: Reading = {
      site: 'dc1',
      meter: 'pdu-a1',
      tsMs: 1_700_000_000_000,
      watts: 1234.5,
      wattHours: 10,
      voltAmperes: 1300,
      powerFactor: 0.95,
      volts: 415,
      amps: 3.1,
      hertz: 50.01,
      pricePerMWh: 80.5,
      carbonGramsPerKWh: 210,
    };
    expect(decodeMessage(enc.encode(JSON.stringify(full)), opts)).toStrictEqual({ readings: [expected], failures: [] });
    expect(decode(full)).toStrictEqual({ readings: [expected], failures: [] });
  });

  it('omits absent fields and ignores unknown keys', () => {
    const result = decode({ ...good, firmware: '1.2', extra: { nested: true } });
    expect(result.failures).toEqual([]);
    expect(result.readings).toStrictEqual([{ site: 'dc1', meter: 'pdu-a1', tsMs: 1_700_000_000_000, watts: 1234.5 }]);
  });

  it('treats null values as absent', () => {
    expect(decode({ ...good, volts: null }).readings).toStrictEqual([
      { site: 'dc1', meter: 'pdu-a1', tsMs: 1_700_000_000_000, watts: 1234.5 },
    ]);
    expect(reasonOf({ site: 'dc1', meter: 'm', ts: 1, watts: null })).toBe('no_value');
  });

  it('accepts grid-only signals as values', () => {
    for (const field of ['hertz', 'volts', 'pricePerMWh', 'carbonGramsPerKWh', 'wattHours', 'watts']) {
      const result = decode({ site: 'dc1', meter: 'grid', ts: 5, [field]: 1 });
      expect(result.failures, field).toEqual([]);
      expect(result.readings[0]?.[field as keyof Reading]).toBe(1);
    }
  });

  it.each([
    ['watts as string', { ...good, watts: '12' }],
    ['watts as boolean', { ...good, watts: true }],
    ['hertz as object', { ...good, hertz: { v: 50 } }],
    ['meter missing', { site: 'dc1', ts: 1, watts: 1 }],
    ['meter as number', { site: 'dc1', meter: 7, ts: 1, watts: 1 }],
    ['site as number', { site: 1, meter: 'm', ts: 1, watts: 1 }],
    ['site missing and no subject', { meter: 'm', ts: 1, watts: 1 }],
    ['ts missing', { site: 'dc1', meter: 'm', watts: 1 }],
    ['ts as boolean', { site: 'dc1', meter: 'm', ts: true, watts: 1 }],
    ['ts null', { site: 'dc1', meter: 'm', ts: null, watts: 1 }],
    ['top-level number', 42],
    ['top-level string', '"hello"'],
    ['top-level null', null],
  ])('schema: %s', (_name, payload) => {
    expect(reasonOf(payload)).toBe('schema');
  });

  it.each([
    ['empty meter', { ...good, meter: '' }],
    ['meter with dot', { ...good, meter: 'a.b' }],
    ['meter with space', { ...good, meter: 'a b' }],
    ['meter of 65 chars', { ...good, meter: 'm'.repeat(65) }],
    ['site with unicode', { ...good, site: 'dç1' }],
    ['site with wildcard', { ...good, site: 'dc*' }],
  ])('bad_id: %s', (_name, payload) => {
    expect(reasonOf(payload)).toBe('bad_id');
  });

  it('accepts ids of 64 chars with the whole alphabet', () => {
    const meter = `${'aZ09_-'.repeat(10)}abcd`;
    expect(meter).toHaveLength(64);
    expect(decode({ ...good, meter }).readings[0]?.meter).toBe(meter);
  });

  it.each([
    ['zone-less ISO', '2024-03-01T12:00:00'],
    ['zone-less ISO with ms', '2024-03-01T12:00:00.123'],
    ['date only', '2024-03-01'],
    ['not a date', 'yesterday'],
    ['impossible day', '2024-02-30T00:00:00Z'],
    ['Feb 29 in a non-leap year', '2023-02-29T00:00:00Z'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['hour 25', '2024-03-01T25:00:00Z'],
    ['offset without colon', '2024-03-01T12:00:00+0100'],
    ['bad offset', '2024-03-01T12:00:00+25:00'],
    ['numeric string', '1700000000000'],
    ['space instead of T', '2024-03-01 12:00:00Z'],
  ])('bad_timestamp: %s', (_name, ts) => {
    expect(reasonOf({ ...good, ts })).toBe('bad_timestamp');
  });

  it('bad_timestamp: numbers outside the Date range', () => {
    expect(reasonOf({ ...good, ts: 8.64e15 + 1 })).toBe('bad_timestamp');
    expect(reasonOf({ ...good, ts: -9e15 })).toBe('bad_timestamp');
  });

  it.each([
    ['Z', '2024-03-01T12:00:00Z', Date.UTC(2024, 2, 1, 12, 0, 0)],
    ['lower-case z and t', '2024-03-01t12:00:00z', Date.UTC(2024, 2, 1, 12, 0, 0)],
    ['ms', '2024-03-01T12:00:00.250Z', Date.UTC(2024, 2, 1, 12, 0, 0, 250)],
    ['µs truncated to ms', '2024-03-01T12:00:00.250999Z', Date.UTC(2024, 2, 1, 12, 0, 0, 250)],
    ['+05:30', '2024-03-01T12:00:00+05:30', Date.UTC(2024, 2, 1, 6, 30, 0)],
    ['-08:00', '2024-03-01T12:00:00.007-08:00', Date.UTC(2024, 2, 1, 20, 0, 0, 7)],
    ['+00:00', '2024-03-01T12:00:00+00:00', Date.UTC(2024, 2, 1, 12, 0, 0)],
    ['offset crossing a day', '2024-03-01T01:00:00+02:00', Date.UTC(2024, 1, 29, 23, 0, 0)],
    ['no seconds', '2024-03-01T12:34Z', Date.UTC(2024, 2, 1, 12, 34, 0)],
    ['leap day', '2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('ISO timestamp with %s', (_name, ts, expectedMs) => {
    const result = decode({ ...good, ts });
    expect(result.failures).toEqual([]);
    expect(result.readings[0]?.tsMs).toBe(expectedMs);
  });

  it('keeps fractional ms timestamps', () => {
    expect(decode({ ...good, ts: 1.5 }).readings[0]?.tsMs).toBe(1.5);
  });

  it.each([
    ['1e999 watts', '{"site":"dc1","meter":"m","ts":1,"watts":1e999}'],
    ['-1e999 hertz', '{"site":"dc1","meter":"m","ts":1,"hertz":-1e999}'],
    ['"NaN" watts', '{"site":"dc1","meter":"m","ts":1,"watts":"NaN"}'],
    ['"Infinity" volts', '{"site":"dc1","meter":"m","ts":1,"volts":"Infinity"}'],
    ['"-inf" amps', '{"site":"dc1","meter":"m","ts":1,"watts":1,"amps":"-inf"}'],
    ['1e999 ts', '{"site":"dc1","meter":"m","ts":1e999,"watts":1}'],
    ['"NaN" ts', '{"site":"dc1","meter":"m","ts":"NaN","watts":1}'],
  ])('non_finite: %s', (_name, text) => {
    expect(reasonOf(text)).toBe('non_finite');
  });

  it.each([
    ['only voltAmperes, powerFactor and amps', { site: 'dc1', meter: 'm', ts: 1, voltAmperes: 1, powerFactor: 1, amps: 1 }],
    ['nothing', { site: 'dc1', meter: 'm', ts: 1 }],
  ])('no_value: %s', (_name, payload) => {
    expect(reasonOf(payload)).toBe('no_value');
  });

  it.each([
    ['truncated', '{"site":"dc1","meter":'],
    ['empty', ''],
    ['NaN literal', '{"site":"dc1","meter":"m","ts":1,"watts":NaN}'],
    ['trailing comma', '{"site":"dc1",}'],
  ])('malformed_json: %s', (_name, text) => {
    expect(reasonOf(text)).toBe('malformed_json');
  });

  it('malformed_json: invalid UTF-8 bytes', () => {
    const bytes = enc.encode('{"site":"dc1","meter":"m","ts":1,"watts":1}');
    bytes[10] = 0xff;
    const result = decodeMessage(bytes, opts);
    expect(result.failures.map((f) => f.reason)).toEqual(['malformed_json']);
  });
});

describe('decodeMessage: subject site', () => {
  it('takes the site from the subject when the payload has none', () => {
    const result = decode({ meter: 'm', ts: 1, watts: 2 }, 'dc7');
    expect(result.readings).toStrictEqual([{ site: 'dc7', meter: 'm', tsMs: 1, watts: 2 }]);
  });

  it('accepts a payload site equal to the subject site', () => {
    expect(decode(good, 'dc1').readings).toHaveLength(1);
  });

  it('site_mismatch when both are given and differ', () => {
    const result = decode(good, 'dc2');
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.reason).toBe('site_mismatch');
    expect(result.failures[0]?.detail).toContain('dc2');
  });

  it('bad_id when the subject site is not a valid id and the payload has none', () => {
    expect(reasonOf({ meter: 'm', ts: 1, watts: 2 }, 'a.b')).toBe('bad_id');
  });
});

describe('decodeMessage: batches', () => {
  it('keeps good elements and reports each bad one with its index', () => {
    const batch = [
      { meter: 'a', ts: 1, watts: 1 },
      { meter: 'b', ts: '2024-03-01T00:00:00', watts: 1 },
      { meter: 'c', ts: 3, watts: 3 },
      17,
      { meter: 'bad id', ts: 1, watts: 1 },
      { site: 'other', meter: 'd', ts: 1, watts: 1 },
      { meter: 'e', ts: 5 },
      { meter: 'f', ts: 6, hertz: 50 },
    ];
    const result = decode(batch, 'dc1');
    expect(result.readings.map((r) => r.meter)).toEqual(['a', 'c', 'f']);
    expect(result.readings.every((r) => r.site === 'dc1')).toBe(true);
    expect(result.failures.map((f) => [f.index, f.reason])).toEqual([
      [1, 'bad_timestamp'],
      [3, 'schema'],
      [4, 'bad_id'],
      [5, 'site_mismatch'],
      [6, 'no_value'],
    ]);
  });

  it('an empty batch decodes to nothing', () => {
    expect(decode([])).toStrictEqual({ readings: [], failures: [] });
  });

  it('single readings carry no index', () => {
    const failure = decode({ ...good, watts: 'x' }).failures[0];
    expect(failure).toBeDefined();
    expect(failure && 'index' in failure).toBe(false);
  });

  it('details never carry the whole payload', () => {
    const long = 'x'.repeat(10_000);
    const failure = decode({ ...good, meter: long }).failures[0];
    expect(failure?.reason).toBe('bad_id');
    expect(failure?.detail.length).toBeLessThan(200);
  });
});

describe('decodeMessage: size limit', () => {
  it('too_large without parsing (bytes)', () => {
    const payload = enc.encode(`[${'{'.repeat(200)}`); // not even JSON: proves no parse
    const result = decodeMessage(payload, { maxMessageBytes: 100 });
    expect(result.readings).toEqual([]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.reason).toBe('too_large');
  });

  it('counts UTF-8 bytes, not characters, for strings', () => {
    const text = JSON.stringify({ ...good, note: 'é'.repeat(40) });
    const bytes = enc.encode(text).byteLength;
    expect(bytes).toBeGreaterThan(text.length);
    expect(decodeMessage(text, { maxMessageBytes: bytes }).failures).toEqual([]);
    expect(decodeMessage(text, { maxMessageBytes: bytes - 1 }).failures[0]?.reason).toBe('too_large');
    expect(decodeMessage(enc.encode(text), { maxMessageBytes: bytes - 1 }).failures[0]?.reason).toBe('too_large');
  });

  it('a message exactly at the limit is accepted', () => {
    const text = JSON.stringify(good);
    expect(decodeMessage(text, { maxMessageBytes: text.length }).readings).toHaveLength(1);
  });
});

describe('encodeReading', () => {
  it('writes canonical JSON with ts in ms and a fixed key order', () => {
    const r: Reading = { hertz: 50, watts: 5, tsMs: 1000, meter: 'm', site: 's' };
    expect(encodeReading(r)).toBe('{"site":"s","meter":"m","ts":1000,"watts":5,"hertz":50}');
    expect(new TextDecoder().decode(encodeReadingBytes(r))).toBe(encodeReading(r));
  });

  it('writes non-finite numbers as strings that decode as non_finite', () => {
    const text = encodeReading({ site: 's', meter: 'm', tsMs: 1, watts: Number.NaN });
    expect(text).toBe('{"site":"s","meter":"m","ts":1,"watts":"NaN"}');
    expect(decodeMessage(text, opts).failures[0]?.reason).toBe('non_finite');
  });

  const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
  const num = fc.double({ noNaN: true, noDefaultInfinity: true });
  const reading: fc.Arbitrary<Reading> = fc
    .record(
      {
        site: id,
        meter: id,
        tsMs: fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.double({ min: -8.64e15, max: 8.64e15, noNaN: true })),
        watts: num,
        wattHours: num,
        voltAmperes: num,
        powerFactor: num,
        volts: num,
        amps: num,
        hertz: num,
        pricePerMWh: num,
        carbonGramsPerKWh: num,
      },
      { requiredKeys: ['site', 'meter', 'tsMs'] },
    )
    .filter(
      (r) =>
        r.watts !== undefined ||
        r.wattHours !== undefined ||
        r.hertz !== undefined ||
        r.volts !== undefined ||
        r.pricePerMWh !== undefined ||
        r.carbonGramsPerKWh !== undefined,
    );

  it('round trip: decodeMessage(encodeReading(r)) gives r back', () => {
    fc.assert(
      fc.property(reading, fc.boolean(), (r, asBytes) => {
        const text = encodeReading(r);
        const result = decodeMessage(asBytes ? enc.encode(text) : text, opts);
        expect(result.failures).toEqual([]);
        expect(result.readings).toHaveLength(1);
        expect(result.readings[0]).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it('round trip of a batch with the subject site', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 20 }), (rs) => {
        const text = `[${rs.map(encodeReading).join(',')}]`;
        const result = decodeMessage(text, opts);
        expect(result.failures).toEqual([]);
        expect(result.readings).toEqual(rs);
      }),
      { numRuns: 100 },
    );
  });
});
