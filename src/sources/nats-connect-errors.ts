/**
 * The errors of `connectNats` and the reading of nats.js connection failures: what went
 * wrong in words an operator can act on, and whether waiting for the server can fix it.
 */
import { ErrorCode } from 'nats';
import { natsUrlRequiresTls, type NatsConfig } from '../config/index.js';
import { errorText, EXIT_OK, OperationalError, redactUrlCredentials } from '../telemetry/index.js';

/**
 * The initial connection failed (servers unreachable, authentication refused, TLS), or its
 * options cannot be built (a TLS file, URL credentials). One line: the problem and the fix.
 */
export class NatsConnectError extends OperationalError {
  override readonly name: string = 'NatsConnectError';
}

/** `signal` aborted while waiting for the first connection (SIGTERM at start-up): exit 0. */
export class NatsConnectAbortedError extends NatsConnectError {
  override readonly name: string = 'NatsConnectAbortedError';
  constructor(servers: string) {
    super(`stopped while waiting for NATS at ${servers}`, { exitCode: EXIT_OK });
  }
}

/** A `tls://` URL or a `tls` section: the connection must be TLS. */
export function tlsRequired(cfg: NatsConfig): boolean {
  return cfg.tls !== undefined || cfg.servers.some(natsUrlRequiresTls);
}

/** What went wrong on a connection attempt, in words, and whether waiting can fix it. */
export interface ConnectFailure {
  /** Short, for logs and `/readyz`: `connection refused`. */
  problem: string;
  /** What the operator should do. */
  fix: string;
  /** The server could not be reached (yet): waiting may fix it. */
  unreachable: boolean;
}

/** Network-level failures: no server there (yet). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Timeout,
  ErrorCode.Disconnect,
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

const AUTH_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.AuthorizationViolation,
  ErrorCode.AuthenticationExpired,
  ErrorCode.AuthenticationTimeout,
  ErrorCode.AccountExpired,
  ErrorCode.BadAuthentication,
  ErrorCode.BadCreds,
]);

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/** One failed attempt, read: problem, fix, and whether the server was only unreachable. */
export function classifyConnectError(err: unknown, cfg: NatsConfig): ConnectFailure {
  const code = errorCode(err);
  const text = redactUrlCredentials(errorText(err));
  if (code === ErrorCode.ServerOptionNotAvailable && text === 'tls') {
    const why = cfg.tls === undefined ? 'a tls:// server URL requires TLS' : 'the nats.tls section requires TLS';
    return {
      problem: `TLS is required (${why}) but the server offers none`,
      fix: 'enable TLS on the server (tls { cert_file, key_file }), or connect with nats:// and no nats.tls section',
      unreachable: false,
    };
  }
  if (code !== undefined && AUTH_CODES.has(code)) {
    return { problem: `the server refused the credentials (${code})`, fix: 'check nats.user/nats.password, nats.token, nats.nkeySeed or nats.credsFile', unreachable: false };
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    if (code === ErrorCode.ConnectionRefused || code === 'ECONNREFUSED') return { problem: 'connection refused', fix: 'start the server, or correct nats.servers', unreachable: true };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { problem: `host not found (${code})`, fix: 'correct nats.servers, or wait for DNS', unreachable: true };
    const timedOut = code === ErrorCode.Timeout || code === ErrorCode.ConnectionTimeout || code === 'ETIMEDOUT';
    // A server that verifies client certificates drops a client without one: nats.js only sees a timeout.
    const tlsHint = tlsRequired(cfg) ? '; with TLS, also check nats.tls.cert and nats.tls.key (a server that verifies clients drops one without a certificate)' : '';
    return { problem: timedOut ? `no answer (${code})` : `not reachable (${code})`, fix: `check that the server is up and reachable at nats.servers${tlsHint}`, unreachable: true };
  }
  if (err instanceof Error && /certificate|tls|ssl|handshake/i.test(`${text} ${code ?? ''}`)) {
    return { problem: `TLS handshake failed: ${text}`, fix: 'check nats.tls (ca, cert, key) against the server certificate and its tls { verify } setting', unreachable: false };
  }
  return { problem: text === '' ? (code ?? 'unknown error') : text, fix: 'check nats.servers and the server log', unreachable: false };
}
