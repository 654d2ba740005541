/**
 * MQTT gateways: nats-server's MQTT listener maps topic `telemetry/<site>/<source>` to the
 * NATS subject `telemetry.<site>.<source>`. Readings published with the `mqtt` client arrive
 * through the core NATS source and are recorded by a real WindowEngine via ingestPayload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import type { NatsConnection } from 'nats';
import { pino } from 'pino';
import type { HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import { IngestCounters, ingestPayload } from '../../src/pipeline/ingest.js';
import { NatsSource, parseTelemetrySubject, type SourceMessage } from '../../src/sources/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { configFromText } from '../helpers/config.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const log = pino({ level: 'silent' });

const CONFIG_YAML = `
pipeline:
  windows: [10s]
sites:
  - id: ash1
    nodes:
      - { id: intake, level: grid, role: facility, rating: 10MW, meters: [intake-main] }
      - { id: pdu-a1, parent: intake, level: pdu, role: it, rating: 400kW, meters: [pdu-a1-in] }
source:
  kind: nats
`;

function loadConfig(): HeadroomConfig {
  return configFromText(CONFIG_YAML, 'mqtt-test.yaml');
}

let server: NatsServer;
let nc: NatsConnection;
let client: MqttClient;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ mqtt: true }));
  if (server.mqttPort === undefined) throw new Error('nats-server started without an MQTT port');
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { clientId: 'headroom-gw-test', reconnectPeriod: 0, connectTimeout: 10_000 });
});

afterAll(async () => {
  await client?.endAsync();
  await stopNatsWithClient(server, nc);
});

describe('MQTT gateway → nats-server → NatsSource → WindowEngine', () => {
  it('receives MQTT publishes on telemetry.> and records their readings', async () => {
    const config = loadConfig();
    expect(config.source.kind).toBe('nats');
    const engine = new WindowEngine(config.topology, config.engine);
    const counters = new IngestCounters();
    const source = new NatsSource({ nc }, { subjectPrefix: config.source.subjectPrefix, sites: config.source.sites }, { log });
    const received: SourceMessage[] = [];
    const rejected: string[] = [];
    // One clock read for the whole test: readings are stamped relative to it.
    const nowMs = Date.now();
    await source.start((batch) => {
      for (const msg of batch) {
        received.push(msg);
        const site = parseTelemetrySubject(msg.subject, config.source.subjectPrefix)?.site;
        const report = ingestPayload(engine, msg.payload, site, nowMs, { maxMessageBytes: config.source.maxMessageBytes }, counters);
        if (report.rejectReason !== null) rejected.push(report.rejectReason);
      }
    });
    expect(source.subjects).toEqual(['telemetry.>']);

    const t0 = nowMs - 30_000;
    // A gateway batch (JSON array), a single reading (QoS 0), and one unknown meter.
    await client.publishAsync(
      'telemetry/ash1/gw-1',
      JSON.stringify([
        { meter: 'intake-main', ts: t0, watts: 2_000_000 },
        { meter: 'pdu-a1-in', ts: t0, watts: 300_000 },
        { meter: 'intake-main', ts: t0 + 1000, watts: 2_100_000 },
      ]),
      { qos: 1 },
    );
    await client.publishAsync('telemetry/ash1/gw-2', JSON.stringify({ meter: 'pdu-a1-in', ts: new Date(t0 + 1000).toISOString(), watts: 310_000 }), { qos: 0 });
    await client.publishAsync('telemetry/ash1/gw-3', JSON.stringify({ meter: 'not-in-topology', ts: t0, watts: 1 }), { qos: 1 });

    await retryUntil(async () => expect(received).toHaveLength(3));
    expect(received.map((m) => m.subject).sort()).toEqual(['telemetry.ash1.gw-1', 'telemetry.ash1.gw-2', 'telemetry.ash1.gw-3']);
    expect(counters.messages).toBe(3);
    expect(counters.readings).toBe(5);
    expect(counters.outcomes.accepted).toBe(4);
    expect(counters.outcomes.unknown_meter).toBe(1);
    expect(rejected).toEqual(['unknown_meter']);

    // The recorded readings come out as windows.
    const windows = engine.drain();
    const intake = windows.find((w) => w.type === 'node' && w.node === 'intake' && w.start <= t0 && t0 < w.end);
    if (intake?.type !== 'node') throw new Error('no intake window covering the readings');
    // intake-main held 2.0 MW then 2.1 MW: the time-weighted mean lies between.
    expect(intake.loadWatts).toBeGreaterThanOrEqual(2_000_000);
    expect(intake.loadWatts).toBeLessThanOrEqual(2_100_000);
    await source.stop();
  });
});
