/**
 * Checkpoint ↔ bytes. Binary-safe (the snapshots are bytes, stored as they are), gzip when it
 * pays, and a SHA-256 so that a torn, truncated or bit-flipped checkpoint is refused with
 * CheckpointCorruptError instead of being restored.
 *
 * Layout (integers big-endian):
 *
 *   0  magic "HRCK"                     4 bytes
 *   4  format version                   u8
 *   5  flags (bit 0: body is gzipped)   u8
 *   6  reserved, 0                      u16
 *   8  body length                      u32
 *  12  SHA-256 of bytes 4..11 + body    32 bytes
 *  44  body (gzipped or not)
 *
 * Body, before gzip: header length u32, header JSON (UTF-8: scope, lastSeq, sites, takenAtMs,
 * workerId, engineBytes, alertsBytes), the engine snapshot, the alert snapshot.
 */
import { webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import { CHECKPOINT_FORMAT_VERSION, CheckpointCorruptError, CheckpointVersionError, type Checkpoint } from './checkpoint.js';

const MAGIC = [0x48, 0x52, 0x43, 0x4b]; // "HRCK"
const PREFIX_BYTES = 44;
const DIGEST_AT = 12;
const FLAG_GZIP = 1;
const gunzipAsync = promisify(gunzip);

export interface EncodeOptions {
  /** 'auto' (default): gzip, kept only when it saves at least 10 %; 'never': store as is. */
  compress?: 'auto' | 'never';
  /** zlib level 1–9 (default 1: state snapshots are repetitive JSON, level 1 takes most of the gain). */
  gzipLevel?: number;
}

interface BodyHeader {
  group: string;
  partition: number;
  partitionCount: number;
  stream: string;
  lastSeq: number;
  sites: string[];
  takenAtMs: number;
  workerId: string;
  engineBytes: number;
  alertsBytes: number | null;
}

/**
 * Encodes a checkpoint. gzip and SHA-256 run on the libuv thread pool, off the event loop; the
 * snapshots are streamed into gzip rather than first copied into one body.
 */
export async function encodeCheckpoint(checkpoint: Checkpoint, options: EncodeOptions = {}): Promise<Uint8Array> {
  const header: BodyHeader = {
    group: checkpoint.group,
    partition: checkpoint.partition,
    partitionCount: checkpoint.partitionCount,
    stream: checkpoint.stream,
    lastSeq: checkpoint.lastSeq,
    sites: checkpoint.sites,
    takenAtMs: checkpoint.takenAtMs,
    workerId: checkpoint.workerId,
    engineBytes: checkpoint.engine.byteLength,
    alertsBytes: checkpoint.alerts === null ? null : checkpoint.alerts.byteLength,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const headerLength = Buffer.allocUnsafe(4);
  headerLength.writeUInt32BE(headerBytes.length, 0);
  const parts = [headerLength, headerBytes, checkpoint.engine, checkpoint.alerts ?? new Uint8Array(0)];
  const rawBytes = parts.reduce((n, part) => n + part.byteLength, 0);
  let body: Uint8Array | null = null;
  let flags = 0;
  if ((options.compress ?? 'auto') === 'auto') {
    const zipped = await gzipParts(parts, options.gzipLevel ?? 1);
    if (zipped.length <= rawBytes * 0.9) {
      body = zipped;
      flags |= FLAG_GZIP;
    }
  }
  const bodyBytes = body === null ? rawBytes : body.byteLength;
  if (bodyBytes > 0xffffffff) throw new RangeError(`checkpoint body of ${bodyBytes} bytes exceeds 4 GiB`);
  const out = Buffer.allocUnsafe(PREFIX_BYTES + bodyBytes);
  out.set(MAGIC, 0);
  out.writeUInt8(CHECKPOINT_FORMAT_VERSION, 4);
  out.writeUInt8(flags, 5);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(bodyBytes, 8);
  if (body !== null) out.set(body, PREFIX_BYTES);
  else {
    let at = PREFIX_BYTES;
    for (const part of parts) {
      out.set(part, at);
      at += part.byteLength;
    }
  }
  out.set(await digestOf(out), DIGEST_AT);
  return out;
}

/** gzip of the parts one after the other, streamed through zlib (on the thread pool). */
async function gzipParts(parts: readonly Uint8Array[], level: number): Promise<Buffer> {
  const gz = createGzip({ level });
  const chunks: Buffer[] = [];
  gz.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gz.once('end', resolve);
    gz.once('error', reject);
  });
  for (const part of parts) gz.write(part);
  gz.end();
  await done;
  return Buffer.concat(chunks);
}

/** Decodes a checkpoint; CheckpointCorruptError unless every byte is as written, CheckpointVersionError for other versions. */
export async function decodeCheckpoint(bytes: Uint8Array): Promise<Checkpoint> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX_BYTES || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new CheckpointCorruptError(`not a checkpoint: ${buf.length} bytes without the HRCK header`);
  }
  const version = buf.readUInt8(4);
  const bodyBytes = buf.readUInt32BE(8);
  if (buf.length !== PREFIX_BYTES + bodyBytes) {
    throw new CheckpointCorruptError(`checkpoint is torn: ${buf.length - PREFIX_BYTES} body bytes of ${bodyBytes}`);
  }
  if (!(await digestOf(buf)).equals(buf.subarray(DIGEST_AT, PREFIX_BYTES))) {
    throw new CheckpointCorruptError('checkpoint checksum does not match: corrupt or torn');
  }
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointVersionError(`checkpoint format version ${version}; this build reads version ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const flags = buf.readUInt8(5);
  let raw = buf.subarray(PREFIX_BYTES);
  if ((flags & FLAG_GZIP) !== 0) {
    try {
      raw = await gunzipAsync(raw);
    } catch (err: unknown) {
      throw new CheckpointCorruptError('checkpoint body does not inflate', { cause: err });
    }
  }
  return parseBody(raw, version);
}

/**
 * SHA-256 of bytes 4..11 and the body (WebCrypto: computed on the thread pool). It takes one
 * contiguous input: the 8 prefix bytes are laid before a copy of the body.
 */
async function digestOf(buf: Buffer): Promise<Buffer> {
  const input = Buffer.allocUnsafe(8 + buf.length - PREFIX_BYTES);
  input.set(buf.subarray(4, DIGEST_AT), 0);
  input.set(buf.subarray(PREFIX_BYTES), 8);
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', input));
}

function parseBody(raw: Buffer, version: number): Checkpoint {
  // The checksum matched, so a failure here is a writer's bug, still refused as corrupt.
  const headerBytes = raw.length >= 4 ? raw.readUInt32BE(0) : Infinity;
  let header: BodyHeader;
  try {
    const parsed: unknown = JSON.parse(raw.subarray(4, 4 + headerBytes).toString('utf8'));
    if (!isBodyHeader(parsed)) throw new Error('header fields missing or of the wrong type');
    header = parsed;
  } catch (err: unknown) {
    throw new CheckpointCorruptError('checkpoint header is unreadable', { cause: err });
  }
  const engineAt = 4 + headerBytes;
  const alertsAt = engineAt + header.engineBytes;
  const end = alertsAt + (header.alertsBytes ?? 0);
  if (end !== raw.length) throw new CheckpointCorruptError(`checkpoint body is ${raw.length} bytes, its header says ${end}`);
  return {
    formatVersion: version,
    group: header.group,
    partition: header.partition,
    partitionCount: header.partitionCount,
    stream: header.stream,
    lastSeq: header.lastSeq,
    sites: header.sites,
    // Copies: the caller may keep them while `bytes` is reused.
    engine: new Uint8Array(raw.subarray(engineAt, alertsAt)),
    alerts: header.alertsBytes === null ? null : new Uint8Array(raw.subarray(alertsAt, end)),
    takenAtMs: header.takenAtMs,
    workerId: header.workerId,
  };
}

function isBodyHeader(x: unknown): x is BodyHeader {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  return (
    typeof o['group'] === 'string' &&
    isCount(o['partition']) &&
    isCount(o['partitionCount']) &&
    typeof o['stream'] === 'string' &&
    isCount(o['lastSeq']) &&
    Array.isArray(o['sites']) &&
    o['sites'].every((s) => typeof s === 'string') &&
    typeof o['takenAtMs'] === 'number' &&
    typeof o['workerId'] === 'string' &&
    isCount(o['engineBytes']) &&
    (o['alertsBytes'] === null || isCount(o['alertsBytes']))
  );
}
