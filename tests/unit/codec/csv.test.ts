/**
 * CSV readers: mappings, time forms and zones, missing values (never zero), unreadable rows
 * with line numbers, presets on small hand-written files (the real files are covered by
 * pipeline/golden.test.ts), gzip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CsvMappingError, parseCsvMapping, type ReplayLine, type ReplaySourceOptions } from '../../../src/codec/replay-source.js';
import { openReplaySource } from '../../../src/sources/index.js';
import { patternParser, zoneOffset } from '../../../src/codec/csv-time.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'headroom-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
async function read(text: string | Uint8Array, opts: Omit<ReplaySourceOptions, 'maxMessageBytes'>): Promise<ReplayLine[]> {
  const path = join(dir, `f${fileNo++}.csv`);
  await writeFile(path, text);
  const source = await openReplaySource(path, { maxMessageBytes: 4096, ...opts });
  const out: ReplayLine[] = [];
  for await (const l of source.lines()) out.push(l);
  expect(source.bytesRead()).toBe(source.sizeBytes);
  return out;
}

const T0 = Date.parse('2024-05-01T00:00:00Z');

describe('CSV with a mapping', () => {
  const mapping = parseCsvMapping({
    delimiter: ',',
    header: true,
    site: 'dc1',
    time: { column: 'ts', format: 'epoch-ms' },
    columns: [
      { column: 'a_kw', meter: 'a', quantity: 'watts', unit: 'kW' },
      { column: 'a_v', meter: 'a', quantity: 'volts' },
      { column: 'b_mw', meter: 'b', quantity: 'watts', unit: 'MW' },
      { column: 'b_kwh', meter: 'b', quantity: 'wattHours', unit: 'kWh' },
    ],
  });

  it('reads many meters from one row, converting units', async () => {
    const lines = await read(`ts,a_kw,a_v,b_mw,b_kwh\n${T0},1.5,230,0.002,10\n`, { format: 'csv', mapping });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.line).toBe(2);
    expect(lines[0]!.readings).toEqual([
      { site: 'dc1', meter: 'a', tsMs: T0, watts: 1500, volts: 230 },
      { site: 'dc1', meter: 'b', tsMs: T0, watts: 2000, wattHours: 10_000 },
    ]);
  });

  it('counts missing cells (empty, ?, MISSING, EMPTY) and never reads them as zero', async () => {
    const text = `ts,a_kw,a_v,b_mw,b_kwh\n${T0},?,230,MISSING,\n${T0 + 1000},EMPTY,,,\n`;
    const lines = await read(text, { format: 'csv', mapping });
    expect(lines[0]!.missingValues).toBe(3);
    expect(lines[0]!.readings).toEqual([{ site: 'dc1', meter: 'a', tsMs: T0, volts: 230 }]);
    expect(lines[1]!.missingValues).toBe(4);
    expect(lines[1]!.readings).toEqual([]);
    expect(lines.flatMap((l) => l.readings).some((r) => r.watts === 0)).toBe(false);
  });

  it('counts unreadable rows with their line numbers and goes on', async () => {
    const text = [
      'ts,a_kw,a_v,b_mw,b_kwh',
      `${T0},1,230,1,1`,
      `yesterday,1,230,1,1`,
      `${T0 + 2000},1,abc,1,1`,
      `${T0 + 3000},1`,
      '',
      `${T0 + 4000},"unclosed,230,1,1`,
      `${T0 + 5000},2,230,1,1`,
    ].join('\n');
    const lines = await read(text + '\n', { format: 'csv', mapping });
    const bad = lines.filter((l) => l.unreadable !== undefined).map((l) => [l.unreadable!.line, l.unreadable!.reason]);
    // The unclosed quote runs to the end of the file: one CSV syntax error where it ends.
    expect(bad).toEqual([
      [3, 'bad_time'],
      [4, 'bad_value'],
      [5, 'short_row'],
      [8, 'csv_syntax'],
    ]);
    expect(lines[0]!.readings).toHaveLength(2);
  });

  it('stops with a mapping error naming the column when the header lacks it', async () => {
    await expect(read('time,x\n1,2\n', { format: 'csv', mapping })).rejects.toThrow(/no column 'ts'/);
  });

  it('matches header names ignoring case and a trailing (unit)', async () => {
    const m = parseCsvMapping({ site: 's', time: { column: 0, format: 'epoch-s' }, columns: [{ column: 'global_active_power', meter: 'm', quantity: 'watts', unit: 'kW' }] });
    const lines = await read('t,Global_active_power(kW)\n1714521600,2\n', { format: 'csv', mapping: m });
    expect(lines[0]!.readings).toEqual([{ site: 's', meter: 'm', tsMs: T0, watts: 2000 }]);
  });

  it('rejects bad mappings with readable messages', () => {
    expect(() => parseCsvMapping({ time: { column: 0, format: 'epoch-s' }, columns: [{ column: 1, meter: 'm', quantity: 'watts', unit: 'kWh' }] })).toThrow(/unit 'kWh' is not a unit of watts/);
    expect(() => parseCsvMapping({ time: { column: 0, format: 'epoch-s' }, columns: [], extra: 1 })).toThrow(CsvMappingError);
    expect(() => parseCsvMapping({ time: { format: 'epoch-s' }, columns: [{ column: 1, meter: 'm', quantity: 'watts' }] })).toThrow(/time.column/);
  });

  it('needs a site and, for relative times, a start', async () => {
    const m = parseCsvMapping({ header: false, time: { column: 0, format: 'relative-s' }, columns: [{ column: 1, meter: 'm', quantity: 'watts' }] });
    await expect(read('0,1\n', { format: 'csv', mapping: m })).rejects.toThrow(/need a site/);
    await expect(read('0,1\n', { format: 'csv', mapping: m, site: 's' })).rejects.toThrow(/start time/);
    const lines = await read('0,1\n1.5,2\n', { format: 'csv', mapping: m, site: 's', startMs: T0 });
    expect(lines.map((l) => l.readings[0]!.tsMs)).toEqual([T0, T0 + 1500]);
  });

  it('reads a two-column date pattern in a zone, and gzip', async () => {
    const m = parseCsvMapping({
      delimiter: ';',
      site: 's',
      time: { columns: ['Date', 'Time'], format: 'd/M/yyyy;HH:mm:ss', zone: 'Europe/Paris' },
      columns: [{ column: 'P', meter: 'm', quantity: 'watts', unit: 'kW' }],
    });
    const text = 'Date;Time;P\n1/7/2007;00:00:00;1\n15/1/2007;12:30:00;2\n';
    for (const body of [text, gzipSync(text)]) {
      const lines = await read(body, { format: 'csv', mapping: m });
      expect(lines.map((l) => new Date(l.readings[0]!.tsMs).toISOString())).toEqual(['2007-06-30T22:00:00.000Z', '2007-01-15T11:30:00.000Z']);
    }
    // --zone overrides the mapping's zone.
    const utc = await read(text, { format: 'csv', mapping: m, zone: '+00:00' });
    expect(new Date(utc[0]!.readings[0]!.tsMs).toISOString()).toBe('2007-07-01T00:00:00.000Z');
  });
});

describe('time patterns and zones', () => {
  it('parses offsets, IANA zones across DST, and patterns carrying their own offset', () => {
    expect(patternParser('yyyy-MM-dd HH:mm', '-05:30')('2024-01-01 00:00')).toBe(Date.parse('2024-01-01T05:30:00Z'));
    const ny = patternParser('yyyy-MM-dd HH:mm', 'America/New_York');
    expect(ny('2024-01-15 12:00')).toBe(Date.parse('2024-01-15T17:00:00Z'));
    expect(ny('2024-07-15 12:00')).toBe(Date.parse('2024-07-15T16:00:00Z'));
    expect(patternParser("yyyy-MM-dd'T'HH:mm:ssXXX", 'America/New_York')('2024-07-15T12:00:00+02:00')).toBe(Date.parse('2024-07-15T10:00:00Z'));
    expect(patternParser('MM-dd-yyyy HH:mm:ss.SSS', undefined)('12-23-2020 10:21:51.496')).toBe(Date.parse('2020-12-23T10:21:51.496Z'));
    expect(Number.isNaN(patternParser('d/M/yyyy', undefined)('31/2/2007'))).toBe(true);
  });

  it('rejects unknown zones and bad patterns', () => {
    expect(() => zoneOffset('Mars/Olympus')).toThrow(CsvMappingError);
    expect(() => patternParser('yyyy-MM-dd ff', undefined)).toThrow(CsvMappingError);
  });
});

describe('presets', () => {
  it('ptdaemon: total and per-channel meters, unreadable lines counted', async () => {
    const text = [
      'Time,12-23-2020 10:21:51.496,Watts,23.43,Volts,228.37,Amps,0.20428,PF,0.5023,Mark,testing',
      'Time,12-23-2020 10:21:52.505,Watts,100,Volts,230,Amps,0.5,PF,0.9,Ch1,Watts,60,Volts,230,Amps,0.3,PF,0.9,Ch2,Watts,40,Volts,230,Amps,0.2,PF,0.9,Mark,x',
      'Time,12-23-2020 10:21:53.505,Ch1,Watts,1,Ch2,Watts,2,Mark,x',
      'Error: analyser disconnected',
      'Time,99-99-2020 10:21:53.505,Watts,1',
      'Time,12-23-2020 10:21:54.505,Watts,?,Volts,229',
    ].join('\n');
    const lines = await read(text, { format: 'ptdaemon', site: 'lab' });
    expect(lines[0]!.readings).toEqual([{ site: 'lab', meter: 'ptd', tsMs: Date.parse('2020-12-23T10:21:51.496Z'), watts: 23.43, volts: 228.37, amps: 0.20428, powerFactor: 0.5023 }]);
    expect(lines[1]!.readings.map((r) => [r.meter, r.watts])).toEqual([
      ['ptd', 100],
      ['ptd-ch1', 60],
      ['ptd-ch2', 40],
    ]);
    expect(lines[2]!.readings.map((r) => [r.meter, r.watts])).toEqual([
      ['ptd', 3],
      ['ptd-ch1', 1],
      ['ptd-ch2', 2],
    ]);
    expect(lines[3]!.unreadable).toMatchObject({ line: 4, reason: 'bad_line' });
    expect(lines[4]!.unreadable).toMatchObject({ line: 5, reason: 'bad_time' });
    expect(lines[5]!.missingValues).toBe(1);
    expect(lines[5]!.readings[0]!.watts).toBeUndefined();
  });

  it('gpu-trace: eight meters from relative seconds; needs --start', async () => {
    const text = '0.5,1,2,3,4,5,6,7,8\n';
    await expect(read(text, { format: 'gpu-trace', site: 'n' })).rejects.toThrow(/--start/);
    const lines = await read(text, { format: 'gpu-trace', site: 'n', startMs: T0 });
    expect(lines[0]!.readings.map((r) => [r.meter, r.tsMs - T0, r.watts])).toEqual(Array.from({ length: 8 }, (_, g) => [`gpu${g}`, 500, g + 1]));
  });

  it('uci-household: `?` rows are missing, not zero', async () => {
    const text = 'Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3\n' + '21/12/2006;11:23:00;?;?;?;?;?;?;\n' + '21/12/2006;11:24:00;2.5;0.1;240.5;10.4;0;1;17\n';
    const lines = await read(text, { format: 'uci-household', site: 'h' });
    expect(lines[0]!.readings).toEqual([]);
    expect(lines[0]!.missingValues).toBe(3);
    expect(lines[1]!.readings).toEqual([{ site: 'h', meter: 'household', tsMs: Date.parse('2006-12-21T10:24:00Z'), watts: 2500, volts: 240.5, amps: 10.4 }]);
  });

  it('eia930: MISSING and EMPTY raw demand are missing; the cleaned column stays', async () => {
    const text = 'date_time,raw demand (MW),category,cleaned demand (MW),forecast demand (MW)\n2016-06-06 06:00:00,EMPTY,MISSING,34729,32335\n2016-06-06 07:00:00,35000,OKAY,35000.0,30442\n';
    const lines = await read(text, { format: 'eia930', site: 'g', meter: 'ercot' });
    expect(lines[0]!.missingValues).toBe(1);
    expect(lines[0]!.readings).toEqual([{ site: 'g', meter: 'ercot-cleaned', tsMs: Date.parse('2016-06-06T06:00:00Z'), watts: 34_729_000_000 }]);
    expect(lines[1]!.readings.map((r) => r.watts)).toEqual([35e9, 35e9]);
  });
});
