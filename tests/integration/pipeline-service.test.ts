/**
 * The service assembled outside the CLI: `HeadroomService` on the embedded default (the
 * simulator feeding the in-process bus), its /metrics and /readyz on a free port, started and
 * stopped the way `headroom run` does, without commander or signals.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/index.js';
import { HeadroomService } from '../../src/pipeline/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { retryUntil } from '../helpers/servers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('HeadroomService', () => {
  it('serves the demo fleet embedded: ready, windows written to the results file and /metrics, then stops within its budget', async () => {
    const loaded = loadConfigFile('config/demo-fleet.yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const dataDir = mkdtempSync(join(tmpdir(), 'headroom-service-'));
    dirs.push(dataDir);
    const service = new HeadroomService({
      config: loaded.config,
      embedded: true,
      dataDir,
      metricsListen: { host: '127.0.0.1', port: 0 },
      backfillMs: 60_000,
      stopBudgetMs: 10_000,
      log: createLogger({ level: 'silent' }),
    });
    await service.start();
    expect(service.sourceKind).toBe('memory');
    const metricsUrl = service.metricsUrl;
    if (metricsUrl === null) throw new Error('no /metrics URL');
    const readyUrl = metricsUrl.replace(/\/metrics$/, '/readyz');
    await retryUntil(async () => {
      const res = await fetch(readyUrl);
      if (res.status !== 200) throw new Error(`readyz ${res.status}`);
    });
    // The backfill closes windows at once: wait (bounded) for them to reach the sinks.
    await retryUntil(() => (service.pipeline.status().recordsOut > 0 ? Promise.resolve() : Promise.reject(new Error('no records yet'))));
    const metricsText = await (await fetch(metricsUrl)).text();
    expect(metricsText).toContain('headroom_readings_total');

    const report = await service.stop();
    expect(report.pipeline).toEqual({ droppedAtShutdown: {}, droppedRecords: 0, overran: [] });
    expect(service.pipeline.status().state).toBe('stopped');
    const lines = readFileSync(service.ndjsonPath ?? '', 'utf8').trim().split('\n');
    // Every record the pipeline wrote is in the file (the NDJSON sink drops nothing on a clean stop).
    expect(lines.length).toBe(service.pipeline.status().recordsOut);
    await expect(fetch(metricsUrl)).rejects.toThrow();
  });
});
