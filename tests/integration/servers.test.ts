/** Smoke test of the server helpers: each real server starts, answers, and stops cleanly. */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { connect, StringCodec } from 'nats';
import {
  MissingServerBinaryError,
  findBinary,
  startInfluxdb1,
  startNats,
  startNatsCluster,
  retryUntil,
  startPrometheus,
  startVictoriaMetrics,
} from '../helpers/servers.js';

const sc = StringCodec();

async function natsRoundTrip(url: string, subject: string, text: string): Promise<string> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    const sub = nc.subscribe(subject, { max: 1 });
    const received = (async () => {
      for await (const msg of sub) return sc.decode(msg.data);
      return '';
    })();
    await nc.flush();
    nc.publish(subject, sc.encode(text));
    return await received;
  } finally {
    await nc.close();
  }
}

describe('test server helpers', () => {
  it('missing binaries name their Debian package', () => {
    expect(() => findBinary('no-such-server-binary', 'no-such-package')).toThrow(MissingServerBinaryError);
    expect(() => findBinary('no-such-server-binary', 'no-such-package')).toThrow(/no-such-package/);
  });

  it('nats-server: publish/subscribe, JetStream, restart on the same port, stop', async () => {
    const nats = await startNats({ jetstream: true });
    try {
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(await natsRoundTrip(nats.url, 'telemetry.dc1.gw', 'hello')).toBe('hello');

      const nc = await connect({ servers: nats.url, reconnect: false });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'T', subjects: ['telemetry.>'] });
      await nc.jetstream().publish('telemetry.dc1.gw', sc.encode('kept'));
      await nc.close();

      const portBefore = nats.port;
      await nats.restart();
      expect(nats.port).toBe(portBefore);
      const nc2 = await connect({ servers: nats.url, reconnect: false });
      const info = await (await nc2.jetstreamManager()).streams.info('T');
      expect(info.state.messages).toBe(1); // same store dir: data survived the restart
      await nc2.close();

      const varz = await fetch(`${nats.monitorUrl}/varz`);
      expect(varz.status).toBe(200);
      await varz.arrayBuffer();
    } finally {
      await nats.stop();
    }
    expect(existsSync(nats.storeDir)).toBe(false);
    await expect(connect({ servers: nats.url, reconnect: false, timeout: 1000 })).rejects.toThrow();
  });

  it('nats-server: core NATS without JetStream, and MQTT listener', async () => {
    const plain = await startNats({ jetstream: false });
    const mqtt = await startNats({ mqtt: true });
    try {
      expect(await natsRoundTrip(plain.url, 'a.b', 'plain')).toBe('plain');
      expect(mqtt.mqttPort).toBeGreaterThan(0);
      const { createConnection } = await import('node:net');
      await new Promise<void>((resolveConnect, reject) => {
        const socket = createConnection({ host: '127.0.0.1', port: mqtt.mqttPort ?? 0 }, () => {
          socket.end();
          resolveConnect();
        });
        socket.once('error', reject);
      });
    } finally {
      await Promise.all([plain.stop(), mqtt.stop()]);
    }
  });

  it('nats-server: extra config, e.g. the partition subject mapping of DESIGN section 8', async () => {
    const nats = await startNats({
      jetstream: false,
      extraConfig: 'mappings { "telemetry.*.*": "tp.{{partition(4,1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }',
    });
    try {
      const nc = await connect({ servers: nats.url, reconnect: false });
      const sub = nc.subscribe('tp.>', { max: 1 });
      await nc.flush();
      nc.publish('telemetry.dc1.gw', sc.encode('x'));
      for await (const msg of sub) expect(msg.subject).toMatch(/^tp\.[0-3]\.dc1\.gw$/);
      await nc.close();
    } finally {
      await nats.stop();
    }
  });

  it('nats-server: a 3-node JetStream cluster survives the loss of one member', async () => {
    const cluster = await startNatsCluster({ size: 3 });
    try {
      expect(cluster.urls).toHaveLength(3);
      const nc = await connect({ servers: cluster.urls });
      const jsm = await nc.jetstreamManager();
      await retryUntil(() => jsm.streams.add({ name: 'R', subjects: ['r.>'], num_replicas: 3 }));
      const js = nc.jetstream();
      await retryUntil(() => js.publish('r.1', sc.encode('one'), { msgID: 'one' }));
      await cluster.servers[2]?.stop();
      // msgID dedupes a publish that was stored but whose ack was lost during fail-over.
      await retryUntil(() => js.publish('r.2', sc.encode('two'), { msgID: 'two' }));
      const info = await retryUntil(() => jsm.streams.info('R'));
      expect(info.state.messages).toBe(2);
      await nc.close();
    } finally {
      await cluster.stop();
    }
  });

  it('victoria-metrics: /health, accepts an InfluxDB line and answers a query', async () => {
    const vm = await startVictoriaMetrics();
    try {
      const health = await fetch(`${vm.url}/health`);
      expect(health.status).toBe(200);
      await health.arrayBuffer();
      // An old point: the long retention must keep it.
      const tsNs = `${Date.UTC(2020, 0, 1)}000000`;
      const write = await fetch(`${vm.url}/api/v2/write?bucket=b&org=o&precision=ns`, {
        method: 'POST',
        body: `smoke,site=dc1 loadWatts=42 ${tsNs}`,
      });
      expect(write.status).toBe(204);
      await write.arrayBuffer();
      await vm.forceFlush();
      const query = await fetch(
        `${vm.url}/api/v1/export?match[]=${encodeURIComponent('{__name__="smoke_loadWatts"}')}`,
      );
      const text = await query.text();
      expect(text).toContain('"values":[42]');
    } finally {
      await vm.stop();
    }
  });

  it('prometheus: /-/ready', async () => {
    const prom = await startPrometheus('global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    try {
      const ready = await fetch(`${prom.url}/-/ready`);
      expect(ready.status).toBe(200);
      await ready.arrayBuffer();
    } finally {
      await prom.stop();
    }
  });

  it('influxdb 1.x: /ping answers 204', async () => {
    const influx = await startInfluxdb1();
    try {
      const ping = await fetch(`${influx.url}/ping`);
      expect(ping.status).toBe(204);
      await ping.arrayBuffer();
    } finally {
      await influx.stop();
    }
  });
});
