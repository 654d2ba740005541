/**
 * `headroom decode`: what a message decodes to, for operators checking a Telegraf set-up.
 * Line protocol in (a file or stdin), the points out as JSON in the shape of InfluxData's
 * conformance corpus, or, with `--mapping`, the readings the points become.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseLossless } from 'lossless-json';
import {
  decodeAnswerJson,
  decodeLineProtocol,
  decodeLineProtocolMessage,
  encodeReading,
  LINE_PROTOCOL_PRECISIONS,
  type LineProtocolPrecision,
} from '../codec/index.js';
import { parseTelemetrySubject, subjectMatches } from '../sources/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';

interface DecodeFlags {
  format: string;
  precision: string;
  defaultTime?: string;
  batch?: boolean;
  mapping?: string;
  subject?: string;
}

/** `1µs` is how the corpus and Go spell microseconds. */
function precisionOf(text: string, flag: string): LineProtocolPrecision {
  const normal = text === '1µs' ? '1us' : text;
  if ((LINE_PROTOCOL_PRECISIONS as readonly string[]).includes(normal)) return normal as LineProtocolPrecision;
  throw new ConfigError(`${flag}: expected one of ${LINE_PROTOCOL_PRECISIONS.join(', ')}, got '${text}'`);
}

function nanoseconds(text: string, flag: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new ConfigError(`${flag}: expected an integer number of nanoseconds since the epoch, got '${text}'`);
  return BigInt(text);
}

function readInput(file: string | undefined): Buffer {
  return readFileSync(file === undefined || file === '-' ? 0 : file);
}

interface BatchCase {
  text: string | { binary: string };
  precision?: string;
  defaultTime?: string | number;
}

/** `--batch`: each input line is `{"text","precision","defaultTime"}`; each output line its answer. */
function decodeBatch(input: string, fallback: { precision: LineProtocolPrecision; defaultTimeNs: bigint }): string[] {
  const out: string[] = [];
  for (const line of input.split('\n')) {
    if (line.trim() === '') continue;
    let c: BatchCase;
    try {
      // Numbers stay text: a default time in ns passes 2^53.
      c = parseLossless(line, undefined, (n: string) => n) as BatchCase;
    } catch (err: unknown) {
      out.push(JSON.stringify({ error: `batch line is not JSON: ${err instanceof Error ? err.message : String(err)}` }));
      continue;
    }
    const bytes = typeof c.text === 'string' ? Buffer.from(c.text, 'utf8') : Buffer.from(c.text.binary, 'base64');
    const precision = c.precision === undefined ? fallback.precision : precisionOf(c.precision, 'precision');
    const defaultTimeNs = c.defaultTime === undefined ? fallback.defaultTimeNs : nanoseconds(String(c.defaultTime), 'defaultTime');
    out.push(decodeAnswerJson(decodeLineProtocol(bytes, { precision, defaultTimeNs })));
  }
  return out;
}

/** `--mapping CONFIG`: the readings (wire format) and the failures by reason. */
function decodeMapped(bytes: Buffer, configPath: string, subject: string | undefined, receivedMs: number): string[] {
  const config = loadConfigOrThrow(configPath);
  const inputs = config.source.lineProtocol;
  if (inputs.length === 0) throw new ConfigError(`${configPath}: source.lineProtocol is empty: nothing maps line protocol to readings`);
  const input = subject === undefined ? inputs[0]! : inputs.find((i) => subjectMatches(i.subjects.split('.'), subject.split('.')));
  if (input === undefined) throw new ConfigError(`--subject ${subject}: no source.lineProtocol entry of ${configPath} matches it`);
  const subjectSite = subject === undefined ? undefined : parseTelemetrySubject(subject, config.source.subjectPrefix)?.site;
  const { readings, failures } = decodeLineProtocolMessage(bytes, {
    precision: input.precision,
    mappings: input.mappings,
    maxMessageBytes: config.source.maxMessageBytes,
    receivedMs,
    ...(subjectSite === undefined ? {} : { subjectSite }),
  });
  return [...readings.map(encodeReading), ...failures.map((f) => JSON.stringify({ error: f.detail, reason: f.reason }))];
}

export function registerDecodeCommand(program: Command): void {
  program
    .command('decode')
    .description('show what a message decodes to: InfluxDB line protocol as points (JSON), or with --mapping the readings they become')
    .argument('[file]', "file holding the message ('-' or none: standard input)")
    .option('--format <format>', 'message format (influx: InfluxDB line protocol)', 'influx')
    .option('--precision <unit>', 'unit of the timestamps: 1ns, 1us, 1ms or 1s', '1ns')
    .option('--default-time <ns>', 'time of points without a timestamp, ns since the epoch (default: now)')
    .option('--batch', 'each input line is {"text","precision","defaultTime"}; each output line the answer for it')
    .option('--mapping <config>', "map points to readings with this config's source.lineProtocol")
    .option('--subject <subject>', 'with --mapping: the NATS subject the message came on (picks the entry, gives the site)')
    .action((file: string | undefined, flags: DecodeFlags) => {
      if (flags.format !== 'influx') throw new ConfigError(`--format: only 'influx' (InfluxDB line protocol) is decoded here, got '${flags.format}'`);
      const nowMs = Date.now();
      const precision = precisionOf(flags.precision, '--precision');
      const defaultTimeNs = flags.defaultTime === undefined ? BigInt(nowMs) * 1_000_000n : nanoseconds(flags.defaultTime, '--default-time');
      const bytes = readInput(file);
      let lines: string[];
      if (flags.batch === true) lines = decodeBatch(bytes.toString('utf8'), { precision, defaultTimeNs });
      else if (flags.mapping !== undefined) lines = decodeMapped(bytes, flags.mapping, flags.subject, nowMs);
      else lines = [decodeAnswerJson(decodeLineProtocol(bytes, { precision, defaultTimeNs }))];
      process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    });
}
