/**
 * The one home of the CLI's flag parsers and shared flag defaults: each turns a flag's text
 * into a value or throws a ConfigError naming the flag (exit 2).
 */
import { readFileSync } from 'node:fs';
import { parseDurationMs, parseListenAddress, UnitParseError, type NatsConfig } from '../config/index.js';
import { connectNats, type NatsHandle } from '../sources/index.js';
import type { Logger } from '../telemetry/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--log-level` value, or a ConfigError (exit 2). */
export function parseLogLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level === undefined) throw new ConfigError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
  return level;
}

/** `10s` → 10000; a ConfigError (exit 2) naming the option otherwise. */
export function durationOption(flag: string, value: string, opts: { allowZero?: boolean } = {}): number {
  try {
    const ms = parseDurationMs(value);
    if (ms < 0 || (ms === 0 && opts.allowZero !== true)) throw new ConfigError(`${flag}: must be greater than 0, got '${value}'`);
    return ms;
  } catch (err: unknown) {
    if (err instanceof UnitParseError) throw new ConfigError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** A duration where a bare number means milliseconds (`--reorder-window 500`); any value >= 0. */
export function durationOrMsOption(flag: string, text: string): number {
  try {
    return parseDurationMs(/^\d+(\.\d+)?$/.test(text) ? `${text}ms` : text);
  } catch (err: unknown) {
    if (err instanceof UnitParseError) throw new ConfigError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** A size or duration parsed by `parse`, which must come out greater than 0. */
export function positiveUnitOption(flag: string, parse: () => number): number {
  try {
    const v = parse();
    if (!(v > 0)) throw new ConfigError(`${flag} must be greater than 0`);
    return v;
  } catch (err: unknown) {
    if (err instanceof UnitParseError) throw new ConfigError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** A whole number > 0. */
export function positiveIntOption(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${flag} must be a whole number > 0, got '${text}'`);
  return n;
}

/** `simulate --speed`: 'max' or a positive factor of real time (`10` or `10x`). */
export function parseSimulateSpeed(value: string): number | 'max' {
  if (value === 'max') return 'max';
  const n = Number(value.replace(/x$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--speed: expected 'max' or a positive factor of real time (1, 10), got '${value}'`);
  return n;
}

/** `replay --speed`: 'max' or a factor on the original spacing. */
export function parseReplaySpeed(text: string): number | 'max' {
  if (text === 'max') return 'max';
  const speed = Number(text);
  if (!Number.isFinite(speed) || speed <= 0) throw new ConfigError(`--speed must be 'max' or a number > 0, got '${text}'`);
  return speed;
}

/** `simulate --start`: ISO-8601 with zone, or ms since the epoch. */
export function parseStartMs(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ConfigError(`--start: expected an ISO-8601 time or ms since the epoch, got '${value}'`);
  return ms;
}

/** `host:port`, `[::1]:port`, `:port` → parts (the config's own check); ConfigError (exit 2) otherwise. */
export function parseListen(flag: string, value: string): { host: string; port: number } {
  const address = parseListenAddress(value);
  if (address === null) throw new ConfigError(`${flag}: expected host:port, got '${value}'`);
  return address;
}

/** NATS server when neither a flag nor a config names one. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** How the default of `--nats` reads in help and docs (it depends on the environment). */
export const NATS_URL_DEFAULT_TEXT = `$NATS_URL, else ${DEFAULT_NATS_URL}`;

/** `--nats URL` if given, else `$NATS_URL`, else the local default. */
export function natsUrlOf(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return flag;
  const fromEnv = env.NATS_URL;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_NATS_URL;
}

/** Connection settings: the config's `nats` section (credentials, TLS) or just `--nats URL`. */
export function natsConfigFor(configPath: string | undefined, url: string, name: string): NatsConfig {
  if (configPath !== undefined) {
    const config = loadConfigOrThrow(configPath);
    if (config.nats !== undefined) return config.nats;
  }
  return { servers: [url], name };
}

/**
 * `simulate --to nats`: the config's `nats` section (credentials, TLS), its servers replaced
 * by `--nats-server`; without a section (a memory-source config), `--nats-server`, else
 * `$NATS_URL`, else the local default, as `record` and `replay` do.
 */
export function simulateNatsConfig(configured: NatsConfig | undefined, natsServer: string | undefined, env: NodeJS.ProcessEnv): NatsConfig {
  if (configured === undefined) return { servers: [natsUrlOf(natsServer, env)], name: 'headroom-simulate' };
  return natsServer === undefined ? configured : { ...configured, servers: [natsServer] };
}

/** Connects with the process environment and files (credentials, TLS) as the CLI's commands do. */
export async function connectForCli(cfg: NatsConfig, log: Logger): Promise<NatsHandle> {
  return connectNats(cfg, { env: process.env, readFile: (p) => readFileSync(p, 'utf8'), log });
}
