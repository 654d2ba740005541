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
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { CHECKPOINT_FORMAT_VERSION, CheckpointCorruptError, CheckpointVersionError, type Checkpoint } from './checkpoint.js';

const MAGIC = [0x48, 0x52, 0x43, 0x4b]; // "HRCK"
const PREFIX_BYTES = 44;
const DIGEST_AT = 12;
const FLAG_GZIP = 1;
const gzipAsync = promisify(gzip);
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

/** Encodes a checkpoint (gzip runs on the libuv thread pool, off the event loop). */
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
  const raw = Buffer.allocUnsafe(4 + headerBytes.length + checkpoint.engine.byteLength + (checkpoint.alerts?.byteLength ?? 0));
  raw.writeUInt32BE(headerBytes.length, 0);
  let at = 4;
  for (const part of [headerBytes, checkpoint.engine, checkpoint.alerts ?? new Uint8Array(0)]) {
    raw.set(part, at);
    at += part.byteLength;
  }
  let body: Uint8Array = raw;
  let flags = 0;
  if ((options.compress ?? 'auto') === 'auto') {
    const zipped = await gzipAsync(raw, { level: options.gzipLevel ?? 1 });
    if (zipped.length <= raw.length * 0.9) {
      body = zipped;
      flags |= FLAG_GZIP;
    }
  }
  if (body.byteLength > 0xffffffff) throw new RangeError(`checkpoint body of ${body.byteLength} bytes exceeds 4 GiB`);
  const out = Buffer.allocUnsafe(PREFIX_BYTES + body.byteLength);
  out.set(MAGIC, 0);
  out.writeUInt8(CHECKPOINT_FORMAT_VERSION, 4);
  out.writeUInt8(flags, 5);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(body.byteLength, 8);
  out.set(body, PREFIX_BYTES);
  out.set(digestOf(out), DIGEST_AT);
  return out;
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
  if (!digestOf(buf).equals(buf.subarray(DIGEST_AT, PREFIX_BYTES))) {
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

function digestOf(buf: Buffer): Buffer {
  return createHash('sha256').update(buf.subarray(4, DIGEST_AT)).update(buf.subarray(PREFIX_BYTES)).digest();
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
