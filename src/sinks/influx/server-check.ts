/**
 * Which servers the InfluxDB sink can write to, told from their `/ping` answer.
 *
 * The sink writes with the v2 write API (`POST /api/v2/write`). InfluxDB 1.x has it from 1.8
 * on (the compatibility endpoint); 1.7 and older answer 404 there. `/ping` names the version
 * in `X-Influxdb-Version` (`1.6.7~rc0` from Debian's package, `1.8.10`, `v2.7.4`, `3.0.1`);
 * VictoriaMetrics answers 204 without one (it takes v2 writes). A server that does not
 * name a version is given the benefit of the doubt: its first write answer tells.
 */
import { EXIT_RUNTIME, OperationalError } from '../../telemetry/index.js';

/** What `GET /ping` told: any HTTP answer counts (a 401 on 3.x without a token too). */
export interface PingAnswer {
  status: number;
  /** `X-Influxdb-Version`, when sent. */
  version: string | null;
  /** `X-Influxdb-Build` (OSS, Enterprise, Core, …), when sent. */
  build: string | null;
}

export const SUPPORTED_SERVERS = 'InfluxDB 1.8+, 2.x, 3.x or VictoriaMetrics';

/** False only for a version that is known to lack `/api/v2/write`: 0.x and 1.0–1.7. */
export function hasV2WriteApi(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  if (m === null) return true;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return !(major === 0 || (major === 1 && minor < 8));
}

/**
 * The server answers but can never take the sink's writes. One line: what was found and what
 * is needed; the CLI prints it and exits with EXIT_RUNTIME (docs/operations.md, "Exit codes").
 */
export class InfluxServerUnsupportedError extends OperationalError {
  override readonly name = 'InfluxServerUnsupportedError';
  constructor(
    readonly url: string,
    readonly version: string,
  ) {
    super(`sinks.influx.url: ${url} is InfluxDB ${version}, which has no /api/v2/write; the InfluxDB sink needs ${SUPPORTED_SERVERS} (upgrade the server, or point sinks.influx.url at one)`, { exitCode: EXIT_RUNTIME });
  }
}

/** Header value as one string (Node gives arrays for repeated headers). */
export function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
