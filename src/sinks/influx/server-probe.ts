/**
 * The InfluxDB sink's server check: `GET /ping` before the first write, again with backoff
 * while the server cannot be reached, and at the capped delay while it fails permanently.
 */
import type { Logger } from 'pino';
import type { InfluxSinkConfig } from '../../config/index.js';
import { errorText } from '../../telemetry/index.js';
import type { InfluxTransport } from './deps.js';
import { backoffMs, classify, errorInfo, failureReason } from './retry.js';
import { hasV2WriteApi, InfluxServerUnsupportedError } from './server-check.js';
import type { InfluxSinkError } from './stats.js';

/** What the probe tells the sink. */
export interface ServerProbeHooks {
  /** The server takes v2 writes: writing may start. */
  ready(): void;
  /** A probe failed; counted by reason. */
  countFailure(reasonLabel: string, info: InfluxSinkError): void;
  /** The sink fails permanently for `reason` from now on; returns the reason it had before. */
  failPermanently(reason: string): string | null;
}

export class ServerProbe {
  /** The server answered /ping with a version that takes v2 writes (or none): writes may go. */
  private serverOk = false;
  private checking: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** The server answered with a version that has no /api/v2/write. */
  private unsupportedError: InfluxServerUnsupportedError | null = null;
  /** Bumped by cancel(), so a late answer is ignored. */
  private generation = 0;
  private closed = false;

  constructor(
    private readonly cfg: Pick<InfluxSinkConfig, 'url' | 'retry'>,
    private readonly transport: Pick<InfluxTransport, 'ping'>,
    private readonly log: Logger,
    private readonly random: () => number,
    private readonly hooks: ServerProbeHooks,
  ) {}

  get ok(): boolean {
    return this.serverOk;
  }

  get unsupported(): InfluxServerUnsupportedError | null {
    return this.unsupportedError;
  }

  /** The probe on the wire, if any. */
  get pending(): Promise<void> | null {
    return this.checking;
  }

  /** No probe on the wire and none scheduled. */
  get idle(): boolean {
    return this.checking === null && this.timer === null;
  }

  /** Probes the server now (unless it already answered); resolves when this probe is done. */
  check(): Promise<void> {
    if (this.serverOk || this.closed) return Promise.resolve();
    if (this.checking !== null) return this.checking;
    this.clearTimer();
    this.checking = this.probe().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** Ignore the answer of a probe on the wire and stop the scheduled one. */
  cancel(): void {
    this.generation++;
    this.clearTimer();
  }

  /** No more probes. */
  close(): void {
    this.clearTimer();
    this.closed = true;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async probe(): Promise<void> {
    const generation = this.generation;
    let delayMs: number;
    try {
      const answer = await this.transport.ping();
      if (this.closed || generation !== this.generation) return;
      if (answer.version === null || hasV2WriteApi(answer.version)) {
        this.serverOk = true;
        this.unsupportedError = null;
        this.attempt = 0;
        this.log.info({ status: answer.status, version: answer.version, build: answer.build }, 'influx server answered; writing');
        this.hooks.ready();
        return;
      }
      const err = new InfluxServerUnsupportedError(this.cfg.url, answer.version);
      if (this.unsupportedError === null) this.log.error({ version: answer.version, build: answer.build }, err.message);
      this.unsupportedError = err;
      this.hooks.failPermanently(err.message);
      this.hooks.countFailure('unsupported_version', { message: err.message, atMs: Date.now() });
      delayMs = this.cfg.retry.maxDelayMs;
    } catch (err: unknown) {
      if (this.closed || generation !== this.generation) return;
      const failure = classify(err);
      this.hooks.countFailure(failureReason(err), errorInfo(err, Date.now()));
      this.attempt++;
      if (failure.kind === 'permanent') {
        if (this.hooks.failPermanently(failure.reason) !== failure.reason) {
          this.log.error({ error: errorText(err) }, `${failure.reason}; holding points and checking again`);
        }
        delayMs = this.cfg.retry.maxDelayMs;
      } else {
        delayMs = backoffMs(this.attempt, this.cfg.retry, this.random);
        const fields = { url: this.cfg.url, error: errorText(err), attempt: this.attempt, delayMs };
        if (this.attempt === 1) this.log.warn(fields, 'influx server not reachable; not ready, holding points and trying again');
        else this.log.debug(fields, 'influx server still not reachable');
      }
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check();
    }, delayMs);
  }
}
