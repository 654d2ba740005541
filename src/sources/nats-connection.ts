/**
 * One NATS connection for the sources, the dead-letter publisher and the NATS results sink.
 *
 * Credentials come from the config's secret forms (resolved here, at start-up, never
 * logged): user/password, token, NKey seed, or a `.creds` file; TLS from ca/cert/key
 * files. The connection reconnects forever with a capped, jittered backoff; each state
 * change (disconnected, reconnecting, connected again, closed) is logged once and kept in
 * a small tracker that the metrics layer exports.
 */
import { connect, credsAuthenticator, DebugEvents, Events, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type NatsConnection, type TlsOptions } from 'nats';
import type { Logger } from 'pino';
import { describeSecret, resolveSecret, type NatsConfig, type SecretEnv, type SecretFileReader } from '../config/index.js';
import { errorText } from '../telemetry/index.js';

export type NatsConnectionState = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/** Live connection state, updated from `nc.status()`; read by health checks and metrics. */
export interface NatsConnectionStatus {
  state: NatsConnectionState;
  /** Successful reconnects since start. */
  reconnects: number;
  /** Server-reported async errors (permissions, slow consumer, …) since start. */
  errors: number;
}

/** What `connectNats` returns: the connection and its state tracker. */
export interface NatsHandle {
  nc: NatsConnection;
  status: NatsConnectionStatus;
}

export interface NatsConnectDeps {
  env: SecretEnv;
  readFile: SecretFileReader;
  log: Logger;
}

/** Reconnect backoff: first wait, cap, and random jitter added to each wait. */
export interface NatsReconnectPolicy {
  initialWaitMs: number;
  maxWaitMs: number;
  jitterMs: number;
}

export const DEFAULT_RECONNECT_POLICY: NatsReconnectPolicy = { initialWaitMs: 250, maxWaitMs: 5_000, jitterMs: 500 };

/** The initial connection failed (servers unreachable, authentication refused, TLS). */
export class NatsConnectError extends Error {
  override readonly name = 'NatsConnectError';
}

/**
 * Builds nats.js connection options from the config slice. Secrets are resolved through
 * `resolveSecret` (throws `SecretResolutionError` naming the variable or file, not the value).
 */
export function natsConnectionOptions(cfg: NatsConfig, deps: Omit<NatsConnectDeps, 'log'>, policy: NatsReconnectPolicy = DEFAULT_RECONNECT_POLICY): ConnectionOptions {
  return buildOptions(cfg, deps, backoffDelay(policy), policy);
}

function buildOptions(cfg: NatsConfig, deps: Omit<NatsConnectDeps, 'log'>, reconnectDelay: () => number, policy: NatsReconnectPolicy): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: cfg.servers,
    name: cfg.name,
    maxReconnectAttempts: -1,
    reconnect: true,
    reconnectTimeWait: policy.initialWaitMs,
    reconnectJitter: policy.jitterMs,
    reconnectJitterTLS: policy.jitterMs,
    reconnectDelayHandler: reconnectDelay,
  };
  if (cfg.user !== undefined && cfg.password !== undefined) {
    opts.user = resolveSecret(cfg.user, deps.env, deps.readFile);
    opts.pass = resolveSecret(cfg.password, deps.env, deps.readFile);
  }
  if (cfg.token !== undefined) opts.token = resolveSecret(cfg.token, deps.env, deps.readFile);
  const authenticators: Authenticator[] = [];
  const encoder = new TextEncoder();
  if (cfg.nkeySeed !== undefined) {
    authenticators.push(nkeyAuthenticator(encoder.encode(resolveSecret(cfg.nkeySeed, deps.env, deps.readFile))));
  }
  if (cfg.credsFile !== undefined) {
    const path = resolveSecret(cfg.credsFile, deps.env, deps.readFile);
    // The path is not secret, the contents are: read them through the same reader.
    authenticators.push(credsAuthenticator(encoder.encode(resolveSecret({ file: path }, deps.env, deps.readFile))));
  }
  if (authenticators.length === 1) opts.authenticator = authenticators[0];
  else if (authenticators.length > 1) opts.authenticator = authenticators;
  if (cfg.tls !== undefined) {
    const tls: TlsOptions = {};
    if (cfg.tls.ca !== undefined) tls.ca = deps.readFile(cfg.tls.ca);
    if (cfg.tls.cert !== undefined) tls.cert = deps.readFile(cfg.tls.cert);
    if (cfg.tls.key !== undefined) tls.key = deps.readFile(cfg.tls.key);
    opts.tls = tls;
  }
  return opts;
}

/**
 * Capped exponential backoff with jitter. nats.js calls the handler once per pass over the
 * server list while disconnected; the pass count resets when a reconnect succeeds (via
 * `reset`, called from the status loop).
 */
function backoffDelay(policy: NatsReconnectPolicy): (() => number) & { reset: () => void } {
  let attempt = 0;
  const fn = (): number => {
    const baseMs = Math.min(policy.maxWaitMs, policy.initialWaitMs * 2 ** Math.min(attempt, 16));
    attempt++;
    return baseMs + Math.floor(Math.random() * policy.jitterMs);
  };
  fn.reset = (): void => {
    attempt = 0;
  };
  return fn;
}

/** Safe to log: servers and the kinds of credentials, never their values. */
function describeAuth(cfg: NatsConfig): Record<string, string | string[]> {
  const auth: string[] = [];
  if (cfg.user !== undefined) auth.push(`user/password (${describeSecret(cfg.user)})`);
  if (cfg.token !== undefined) auth.push(`token (${describeSecret(cfg.token)})`);
  if (cfg.nkeySeed !== undefined) auth.push(`nkey (${describeSecret(cfg.nkeySeed)})`);
  if (cfg.credsFile !== undefined) auth.push(`creds (${describeSecret(cfg.credsFile)})`);
  return { servers: cfg.servers, auth: auth.length === 0 ? 'none' : auth, tls: cfg.tls === undefined ? 'off' : 'on' };
}

/**
 * Connects, starts the status tracker and resolves with both. A first connection that
 * fails rejects with `NatsConnectError` (start-up should stop); after that, the connection
 * reconnects forever.
 */
export async function connectNats(cfg: NatsConfig, deps: NatsConnectDeps, policy: NatsReconnectPolicy = DEFAULT_RECONNECT_POLICY): Promise<NatsHandle> {
  const delay = backoffDelay(policy);
  const opts = buildOptions(cfg, deps, delay, policy);
  const log = deps.log.child({ component: 'nats' });
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err: unknown) {
    const reason = errorText(err);
    log.error({ ...describeAuth(cfg), err: reason }, 'cannot connect to NATS');
    throw new NatsConnectError(`cannot connect to NATS at ${cfg.servers.join(', ')}: ${reason}`);
  }
  const status: NatsConnectionStatus = { state: 'connected', reconnects: 0, errors: 0 };
  log.info({ ...describeAuth(cfg), server: nc.getServer() }, 'connected to NATS');
  delay.reset();
  void trackStatus(nc, status, log, delay.reset);
  return { nc, status };
}

/** Follows `nc.status()` and logs once per state change (not once per reconnect attempt). */
async function trackStatus(nc: NatsConnection, status: NatsConnectionStatus, log: Logger, resetBackoff: () => void): Promise<void> {
  const setState = (next: NatsConnectionState, fields: Record<string, unknown>, msg: string, level: 'info' | 'warn'): void => {
    if (status.state === next) return;
    status.state = next;
    log[level](fields, msg);
  };
  void nc.closed().then((err) => {
    status.state = 'closed';
    if (err instanceof Error) log.error({ err: err.message }, 'NATS connection closed with an error');
    else log.info('NATS connection closed');
  });
  for await (const s of nc.status()) {
    if (status.state === 'closed') break;
    switch (s.type) {
      case Events.Disconnect:
        setState('disconnected', { server: String(s.data) }, 'disconnected from NATS; reconnecting', 'warn');
        break;
      case DebugEvents.Reconnecting:
        setState('reconnecting', {}, 'reconnecting to NATS', 'warn');
        break;
      case Events.Reconnect:
        status.reconnects++;
        resetBackoff();
        setState('connected', { server: String(s.data), reconnects: status.reconnects }, 'reconnected to NATS', 'info');
        break;
      case Events.Error:
        status.errors++;
        // Rate-limited without a clock: the 1st, 2nd, 4th, 8th, … error is logged.
        if ((status.errors & (status.errors - 1)) === 0) log.warn({ err: String(s.data), errors: status.errors }, 'NATS async error');
        break;
      default:
        break;
    }
  }
}
