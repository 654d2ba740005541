/**
 * One NATS connection for the sources, the dead-letter publisher and the NATS results sink.
 *
 * Credentials come from the config's secret forms (resolved here, at start-up, never
 * logged): user/password, token, NKey seed, or a `.creds` file; TLS from ca/cert/key
 * files. The connection reconnects forever with a capped, jittered backoff; each state
 * change (disconnected, reconnecting, connected again, closed) is logged once and kept in
 * a small tracker that the metrics layer exports.
 *
 * At start-up, `waitForServer` makes an unreachable server a wait, not a failure: the first
 * connection is retried with the same backoff, logged once per change of reason, reported
 * through `onWaiting` (for `/readyz`) and abandoned when `signal` aborts (SIGTERM). A server
 * that answers but refuses us (credentials, TLS) fails at once: waiting would not fix it.
 * Every failure is a `NatsConnectError`: one line naming the problem and the fix. Server URLs
 * are redacted in every log line and error; credentials in a URL are refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, DebugEvents, Events, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type NatsConnection, type TlsOptions } from 'nats';
import type { Logger } from 'pino';
import {
  describeSecret,
  NATS_URL_CREDENTIALS_MESSAGE,
  natsUrlHasCredentials,
  resolveSecret,
  type NatsConfig,
  type SecretEnv,
  type SecretFileReader,
} from '../config/index.js';
import { errorText, EXIT_CONFIG, redactUrlCredentials } from '../telemetry/index.js';
import { classifyConnectError, NatsConnectAbortedError, NatsConnectError, tlsRequired } from './nats-connect-errors.js';

export { NatsConnectAbortedError, NatsConnectError } from './nats-connect-errors.js';

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

export interface NatsConnectOptions {
  /** Reconnect (and start-up wait) backoff. Default DEFAULT_RECONNECT_POLICY. */
  policy?: NatsReconnectPolicy;
  /**
   * Wait for a server that cannot be reached yet, retrying with the backoff, instead of
   * failing at once. Default false (the `simulate` command fails fast; `record` and `run` wait).
   */
  waitForServer?: boolean;
  /** Aborts the wait; `connectNats` then rejects with `NatsConnectAbortedError`. */
  signal?: AbortSignal;
  /** Called after each failed attempt while waiting, with a one-line reason (for `/readyz`). */
  onWaiting?: (detail: string) => void;
}

/**
 * Builds nats.js connection options from the config slice. Secrets are resolved through
 * `resolveSecret` (throws `SecretResolutionError` naming the variable or file, not the value).
 */
export function natsConnectionOptions(cfg: NatsConfig, deps: Omit<NatsConnectDeps, 'log'>, policy: NatsReconnectPolicy = DEFAULT_RECONNECT_POLICY): ConnectionOptions {
  refuseUrlCredentials(cfg);
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
  const secret = (value: Parameters<typeof resolveSecret>[0], path: string): string => resolveSecret(value, deps.env, deps.readFile, path);
  if (cfg.user !== undefined && cfg.password !== undefined) {
    opts.user = secret(cfg.user, 'nats.user');
    opts.pass = secret(cfg.password, 'nats.password');
  }
  if (cfg.token !== undefined) opts.token = secret(cfg.token, 'nats.token');
  const authenticators: Authenticator[] = [];
  const encoder = new TextEncoder();
  if (cfg.nkeySeed !== undefined) {
    authenticators.push(nkeyAuthenticator(encoder.encode(secret(cfg.nkeySeed, 'nats.nkeySeed'))));
  }
  if (cfg.credsFile !== undefined) {
    const path = secret(cfg.credsFile, 'nats.credsFile');
    // The path is not secret, the contents are: read them through the same reader.
    authenticators.push(credsAuthenticator(encoder.encode(secret({ file: path }, 'nats.credsFile'))));
  }
  if (authenticators.length === 1) opts.authenticator = authenticators[0];
  else if (authenticators.length > 1) opts.authenticator = authenticators;
  // A tls:// URL requires TLS: without `opts.tls`, nats.js would talk plaintext to a server
  // that offers no TLS. An empty object means "TLS, system CAs".
  if (tlsRequired(cfg)) {
    const tls: TlsOptions = {};
    const readTls = (field: 'ca' | 'cert' | 'key', path: string): string => {
      try {
        return deps.readFile(path);
      } catch (err: unknown) {
        throw new NatsConnectError(`nats.tls.${field}: cannot read ${path}: ${errorText(err)}; fix the path or the file's permissions`, { exitCode: EXIT_CONFIG, cause: err });
      }
    };
    if (cfg.tls?.ca !== undefined) tls.ca = readTls('ca', cfg.tls.ca);
    if (cfg.tls?.cert !== undefined) tls.cert = readTls('cert', cfg.tls.cert);
    if (cfg.tls?.key !== undefined) tls.key = readTls('key', cfg.tls.key);
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
  return { servers: cfg.servers.map(redactUrlCredentials), auth: auth.length === 0 ? 'none' : auth, tls: tlsRequired(cfg) ? 'required' : 'off' };
}

/** Config validation refuses URL credentials; this guards the CLI flags that take a URL. */
function refuseUrlCredentials(cfg: NatsConfig): void {
  const url = cfg.servers.find(natsUrlHasCredentials);
  if (url !== undefined) throw new NatsConnectError(`NATS server ${redactUrlCredentials(url)}: ${NATS_URL_CREDENTIALS_MESSAGE}`, { exitCode: EXIT_CONFIG });
}

/** Resolves with the attempt's result, or rejects with NatsConnectAbortedError when `signal` aborts first. */
async function attemptConnect(opts: ConnectionOptions, signal: AbortSignal | undefined, servers: string, log: Logger): Promise<NatsConnection> {
  const attempt = connect(opts);
  if (signal === undefined) return attempt;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new NatsConnectAbortedError(servers));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([attempt, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (signal.aborted) {
      // The attempt may still succeed after the abort: close what nobody will use.
      attempt.then(
        (nc) => nc.close(),
        (err: unknown) => log.debug({ err: redactUrlCredentials(errorText(err)) }, 'abandoned NATS connection attempt failed'),
      );
    }
  }
}

/**
 * Connects, starts the status tracker and resolves with both. A first connection that
 * fails rejects with `NatsConnectError` (start-up should stop), unless the server is only
 * unreachable and `waitForServer` is set: then it waits. After that, the connection
 * reconnects forever.
 */
export async function connectNats(cfg: NatsConfig, deps: NatsConnectDeps, options: NatsConnectOptions = {}): Promise<NatsHandle> {
  const policy = options.policy ?? DEFAULT_RECONNECT_POLICY;
  refuseUrlCredentials(cfg);
  const delay = backoffDelay(policy);
  const opts = buildOptions(cfg, deps, delay, policy);
  const log = deps.log.child({ component: 'nats' });
  const servers = cfg.servers.map(redactUrlCredentials).join(', ');
  const waitDelay = backoffDelay(policy);
  let attempts = 0;
  let waitingFor: string | undefined;
  let nc: NatsConnection;
  for (;;) {
    attempts++;
    try {
      nc = await attemptConnect(opts, options.signal, servers, log);
      break;
    } catch (err: unknown) {
      if (err instanceof NatsConnectAbortedError) throw err;
      const failure = classifyConnectError(err, cfg);
      if (options.waitForServer !== true || !failure.unreachable) {
        log.debug({ ...describeAuth(cfg), err: failure.problem, attempts }, 'cannot connect to NATS');
        throw new NatsConnectError(`cannot connect to NATS at ${servers}: ${failure.problem}; ${failure.fix}`, { cause: err });
      }
      // Logged once per change of reason, not once per attempt.
      if (failure.problem !== waitingFor) {
        log.warn({ ...describeAuth(cfg), err: failure.problem, attempts }, 'NATS not reachable; waiting for it (retrying with backoff)');
        waitingFor = failure.problem;
      }
      options.onWaiting?.(`waiting for NATS at ${servers}: ${failure.problem} (attempt ${attempts})`);
    }
    try {
      await sleep(waitDelay(), undefined, options.signal === undefined ? undefined : { signal: options.signal });
    } catch (err: unknown) {
      if (options.signal?.aborted === true) throw new NatsConnectAbortedError(servers);
      throw err;
    }
  }
  const status: NatsConnectionStatus = { state: 'connected', reconnects: 0, errors: 0 };
  log.info({ ...describeAuth(cfg), server: nc.getServer(), attempts }, 'connected to NATS');
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
