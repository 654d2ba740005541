/**
 * Telegraf interop: the demo fleet's readings sent as InfluxDB line protocol (as Telegraf's NATS
 * output with `data_format = "influx"` sends them: many lines a message, ns timestamps, other
 * measurements mixed in) over a real nats-server give the same windows as the same readings
 * replayed as JSON. Lines that do not map, or are not line protocol, are counted by reason and
 * dead-lettered; the good lines of the same message still count.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringCodec, type Msg, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord, Reading } from '../../src/domain/index.js';
import { Pipeline, replayFiles } from '../../src/pipeline/index.js';
import { DEAD_LETTER_REASON_HEADER, NatsDeadLetterPublisher, NatsSource, NO_FAULTS, createSimulator } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { finalWindows } from '../helpers/final-windows.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { configFromText } from '../helpers/config.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const START_MS = Date.UTC(2026, 0, 5, 12, 0, 0);
const TICKS = 90;

/** The demo fleet, with Telegraf's subjects mapped: meter id from two tags, power in kW. */
function configText(): string {
  const demo = readFileSync('config/demo-fleet.yaml', 'utf8');
  const lineProtocol = `
  lineProtocol:
    - subjects: telemetry.*.telegraf
      precision: 1ns
      mappings:
        - measurement: pdu_power
          meter: '{rack}-{feed}'
          fields:
            watts: { field: power_kw, unit: kW }
            volts: voltage
        - measurement: meter
          meter: '{id}'
          fields: { watts: power, wattHours: energy, hertz: frequency, volts: voltage, pricePerMWh: price, carbonGramsPerKWh: carbon }
`;
  // The demo fleet's source is the in-process bus; here it is core NATS with Telegraf subjects.
  return demo.replace(/^source:\n(?: {2}.*\n)*/m, `source:\n  kind: nats\n${lineProtocol}`);
}

/** One reading as a line: meters named `<a>-<b>` go out as pdu_power in kW, the rest as meter. */
function toLine(r: Reading): string {
  const ns = `${BigInt(Math.round(r.tsMs)) * 1_000_000n}`;
  const dash = r.meter.lastIndexOf('-');
  if (r.watts !== undefined && r.wattHours === undefined && r.hertz === undefined && dash > 0) {
    const tags = `rack=${r.meter.slice(0, dash)},feed=${r.meter.slice(dash + 1)},agent_host=10.0.0.7`;
    const fields = [`power_kw=${r.watts / 1000}`, ...(r.volts === undefined ? [] : [`voltage=${r.volts}`])];
    return `pdu_power,${tags} ${fields.join(',')} ${ns}`;
  }
  const names: [keyof Reading, string][] = [['watts', 'power'], ['wattHours', 'energy'], ['hertz', 'frequency'], ['volts', 'voltage'], ['pricePerMWh', 'price'], ['carbonGramsPerKWh', 'carbon']];
  const fields = names.filter(([k]) => r[k] !== undefined).map(([k, name]) => `${name}=${r[k]}`);
  return `meter,id=${r.meter} ${fields.join(',')} ${ns}`;
}

function finals(records: readonly OutputRecord[]): Map<string, Record<string, unknown>> {
  return new Map([...finalWindows(records)].map(([key, r]) => {
    const { revision: _, ...rest } = r;
    return [key, rest];
  }));
}

let server: NatsServer;
let nc: NatsConnection;
let config: HeadroomConfig;
let dir: string;

beforeAll(async () => {
  config = configFromText(configText(), 'telegraf.yaml');
  ({ server, nc } = await startNatsWithClient({ jetstream: false }));
  dir = mkdtempSync(join(tmpdir(), 'headroom-lp-'));
}, 60_000);

afterAll(async () => {
  await stopNatsWithClient(server, nc);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('InfluxDB line protocol from Telegraf over NATS', () => {
  it('gives the windows of the same readings replayed as JSON, and dead-letters what does not map', async () => {
    const sim = createSimulator(config.topology, { seed: 7, rateMs: 1000, startMs: START_MS, batch: true, faults: NO_FAULTS });
    const messages: { site: string; readings: Reading[]; payload: string }[] = [];
    for (let i = 0; i < TICKS; i++) {
      for (const m of sim.tick().messages) {
        const site = m.subject.split('.')[1]!;
        const readings = (JSON.parse(m.payload) as Record<string, unknown>[]).map((o) => ({ ...o, site, tsMs: o['ts'] }) as unknown as Reading);
        messages.push({ site, readings, payload: m.payload });
      }
    }
    const readingCount = messages.reduce((n, m) => n + m.readings.length, 0);
    // Reference: the same readings as JSON through replay.
    const file = join(dir, 'stream.ndjson');
    writeFileSync(file, messages.map((m) => m.payload).join('\n') + '\n');
    const refSink = new CollectingSink();
    await replayFiles(new WindowEngine(config.topology, config.engine), [refSink], { inputs: [file], maxMessageBytes: 1 << 20 });
    const reference = finals(refSink.records);
    expect(reference.size).toBeGreaterThan(100);

    const log = createLogger({ level: 'silent' });
    const sink = new CollectingSink();
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: config.source.maxMessageBytes, lineProtocol: config.source.lineProtocol },
      engine: new WindowEngine(config.topology, config.engine),
      source: new NatsSource({ nc }, { subjectPrefix: 'telemetry', sites: undefined }, { log }),
      sinks: [sink],
      deadLetter: new NatsDeadLetterPublisher(nc, config.deadLetter, log),
      clock: Date.now,
      logger: log,
      tickMs: 100,
    });
    const deadLetters: Msg[] = [];
    const sub = nc.subscribe('headroom.deadletter.>', { callback: (_err, msg) => deadLetters.push(msg) });
    await pipeline.start();
    const sc = StringCodec();
    let junk = 0;
    for (const [i, m] of messages.entries()) {
      const lines = m.readings.map(toLine);
      // Telegraf sends its other inputs on the same subject; and now and then a broken line.
      if (i % 10 === 0) {
        lines.push(`snmp_uptime,agent_host=10.0.0.7 uptime=123456i ${BigInt(START_MS) * 1_000_000n}`);
        lines.push('pdu_power,rack=x power_kw=');
        junk++;
      }
      nc.publish(`telemetry.${m.site}.telegraf`, sc.encode(lines.join('\n') + '\n'));
    }
    await nc.flush();
    await retryUntil(async () => {
      if (pipeline.counters.readings < readingCount || deadLetters.length < junk) throw new Error(`${pipeline.counters.readings}/${readingCount} readings, ${deadLetters.length}/${junk} dead letters`);
    }, 60_000, 100);
    await pipeline.stop();
    sub.unsubscribe();

    expect(pipeline.counters.outcomes.accepted).toBe(readingCount);
    expect(pipeline.counters.decodeFailures.unmapped).toBe(junk);
    expect(pipeline.counters.decodeFailures.malformed_line).toBe(junk);
    // One dead letter per message with bad lines (the message, unchanged, with the first reason).
    expect(deadLetters).toHaveLength(junk);
    expect(new Set(deadLetters.map((d) => d.headers?.get(DEAD_LETTER_REASON_HEADER)))).toEqual(new Set(['malformed_line']));

    const live = finals(sink.records);
    expect([...live.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [key, want] of reference) {
      const got = live.get(key)!;
      for (const [field, value] of Object.entries(want)) {
        const other = got[field];
        // kW on the wire: watts come back as (w / 1000) * 1000, equal to the last bits.
        if (typeof value === 'number' && typeof other === 'number') expect(Math.abs(value - other), `${key}.${field}`).toBeLessThanOrEqual(2e-6 + 1e-12 * Math.abs(value));
        else expect(other, `${key}.${field}`).toEqual(value);
      }
    }
  }, 120_000);
});
