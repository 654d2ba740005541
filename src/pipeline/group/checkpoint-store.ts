/**
 * Checkpoints of a worker group in a NATS Object Store bucket (a JetStream stream, replicated
 * over the cluster). One object per checkpoint, named `<group>/<partition>/<lastSeq>-<takenAtMs>`.
 *
 * Atomic: nats.js writes an object's chunks first and its meta (name → chunks, size, SHA-256)
 * last; an object is listed and readable only once its meta is stored. A writer that dies
 * mid-put leaves chunks no meta points to (invisible; `sweepOrphans` removes them), never a
 * half checkpoint, and `latest()` returns the previous complete one. The checkpoint's own
 * checksum (checkpoint-codec.ts) is checked again on read.
 *
 * Pruning keeps the newest `keep` per partition and purges the meta and chunks of the others
 * outright (no delete markers pile up: the bucket holds only the live checkpoints).
 */
import { NatsError, StorageType, type JetStreamManager, type NatsConnection, type ObjectInfo, type ObjectStore } from 'nats';
import { CheckpointCorruptError, CheckpointVersionError, type Checkpoint } from './checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint, type EncodeOptions } from './checkpoint-codec.js';

export const DEFAULT_CHECKPOINT_BUCKET = 'headroom-checkpoints';
export const DEFAULT_CHECKPOINTS_KEPT = 2;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CHUNK_BYTES = 128 * 1024;
const SEQ_DIGITS = 16;
const NAME_PATTERN = /^(.+)\/(\d+)\/(\d{16})-(\d+)$/;

export interface CheckpointStoreOptions {
  /** Object Store bucket (default 'headroom-checkpoints'); created when missing. */
  bucket?: string;
  /** Replicas of the bucket's stream when it is created (default 1; 3 on a 3-node cluster). */
  replicas?: number;
  /** Checkpoints kept per partition after each put (default 2). */
  keep?: number;
  /** JetStream request timeout for each request, chunk and meta, ms (default 30,000). */
  timeoutMs?: number;
  /** Object Store chunk size, bytes (default 128 KiB; at most the server's max_payload). */
  chunkBytes?: number;
  encode?: EncodeOptions;
}

/** A stored checkpoint, from its object's meta (without reading it). */
export interface CheckpointObject {
  name: string;
  group: string;
  partition: number;
  lastSeq: number;
  takenAtMs: number;
  /** Encoded size, bytes. */
  sizeBytes: number;
  chunks: number;
}

export interface PutResult {
  object: CheckpointObject;
  /** Names pruned after the put. */
  pruned: string[];
  /** Set when pruning failed (the checkpoint itself is stored). */
  pruneError?: CheckpointStoreError;
  /** Time to encode (gzip, checksum), ms. */
  encodeMs: number;
  /** Time to store (chunks and meta acknowledged by the stream), ms. */
  putMs: number;
}

export interface SkippedCheckpoint {
  name: string;
  error: Error;
}

export interface LatestCheckpoint {
  checkpoint: Checkpoint;
  object: CheckpointObject;
  /** Newer checkpoints that could not be read (corrupt), newest first. */
  skipped: SkippedCheckpoint[];
}

/** The store could not be reached or answered with an error (the cause says which). */
export class CheckpointStoreError extends Error {
  override readonly name = 'CheckpointStoreError';
}

/** Object name of a checkpoint: sorts by sequence, then time, within its partition. */
export function checkpointObjectName(group: string, partition: number, lastSeq: number, takenAtMs: number): string {
  return `${group}/${partition}/${String(lastSeq).padStart(SEQ_DIGITS, '0')}-${Math.max(0, Math.floor(takenAtMs))}`;
}

export class CheckpointStore {
  private constructor(
    readonly group: string,
    readonly bucket: string,
    private readonly os: ObjectStore,
    private readonly jsm: JetStreamManager,
    private readonly keep: number,
    private readonly chunkBytes: number,
    private readonly encodeOptions: EncodeOptions,
  ) {}

  /** Opens (creating when missing) the bucket of `group`'s checkpoints. */
  static async open(nc: NatsConnection, group: string, options: CheckpointStoreOptions = {}): Promise<CheckpointStore> {
    if (group === '' || group.includes('/')) throw new RangeError(`group must be a non-empty name without '/', got '${group}'`);
    const keep = options.keep ?? DEFAULT_CHECKPOINTS_KEPT;
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a whole number ≥ 1, got ${keep}`);
    const bucket = options.bucket ?? DEFAULT_CHECKPOINT_BUCKET;
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      const js = nc.jetstream({ timeout });
      const os = await js.views.os(bucket, { replicas: options.replicas ?? 1, storage: StorageType.File });
      const jsm = await nc.jetstreamManager({ timeout });
      return new CheckpointStore(group, bucket, os, jsm, keep, options.chunkBytes ?? DEFAULT_CHUNK_BYTES, options.encode ?? {});
    } catch (err: unknown) {
      throw new CheckpointStoreError(`cannot open checkpoint bucket '${bucket}': ${errorText(err)}`, { cause: err });
    }
  }

  private get stream(): string {
    return `OBJ_${this.bucket}`;
  }

  /** Encodes and stores a checkpoint, then prunes its partition to the newest `keep`. */
  async put(checkpoint: Checkpoint): Promise<PutResult> {
    if (checkpoint.group !== this.group) throw new RangeError(`checkpoint of group '${checkpoint.group}' put in the store of '${this.group}'`);
    const t0 = performance.now();
    const bytes = await encodeCheckpoint(checkpoint, this.encodeOptions);
    const t1 = performance.now();
    const name = checkpointObjectName(this.group, checkpoint.partition, checkpoint.lastSeq, checkpoint.takenAtMs);
    let info: ObjectInfo;
    try {
      info = await this.os.putBlob({ name, options: { max_chunk_size: this.chunkBytes } }, bytes);
    } catch (err: unknown) {
      throw new CheckpointStoreError(`cannot store checkpoint '${name}': ${errorText(err)}`, { cause: err });
    }
    const putMs = performance.now() - t1;
    const object = toObject(info);
    if (object === null) throw new CheckpointStoreError(`stored checkpoint '${name}' is not listed under its name`);
    // The checkpoint is stored: a failed prune is reported, not thrown (the next put prunes again).
    let pruned: string[] = [];
    let pruneError: CheckpointStoreError | undefined;
    try {
      pruned = await this.prune(checkpoint.partition);
    } catch (err: unknown) {
      pruneError = err instanceof CheckpointStoreError ? err : new CheckpointStoreError(`cannot prune after '${name}': ${errorText(err)}`, { cause: err });
    }
    return { object, pruned, ...(pruneError === undefined ? {} : { pruneError }), encodeMs: t1 - t0, putMs };
  }

  /** The partition's checkpoints, newest (highest lastSeq, then takenAtMs) first. */
  async list(partition: number): Promise<CheckpointObject[]> {
    let infos: ObjectInfo[];
    try {
      infos = await this.os.list();
    } catch (err: unknown) {
      throw new CheckpointStoreError(`cannot list checkpoint bucket '${this.bucket}': ${errorText(err)}`, { cause: err });
    }
    return infos
      .flatMap((i) => {
        const o = toObject(i);
        return o !== null && o.group === this.group && o.partition === partition ? [o] : [];
      })
      .sort((a, b) => b.lastSeq - a.lastSeq || b.takenAtMs - a.takenAtMs);
  }

  /** Reads one checkpoint; CheckpointCorruptError when its bytes are not what was written, null when absent. */
  async get(name: string): Promise<Checkpoint | null> {
    let bytes: Uint8Array | null;
    try {
      bytes = await this.os.getBlob(name);
    } catch (err: unknown) {
      // NATS failures (timeouts, API errors) are NatsErrors with a code; the object reader's own
      // failures (its SHA-256 or chunk count does not match the meta) are plain Errors: corruption.
      if (err instanceof Error && !(err instanceof NatsError)) {
        throw new CheckpointCorruptError(`checkpoint '${name}' is corrupt in the store: ${err.message}`, { cause: err });
      }
      throw new CheckpointStoreError(`cannot read checkpoint '${name}': ${errorText(err)}`, { cause: err });
    }
    if (bytes === null) return null;
    try {
      return await decodeCheckpoint(bytes);
    } catch (err: unknown) {
      if (err instanceof CheckpointCorruptError) throw new CheckpointCorruptError(`checkpoint '${name}': ${err.message}`, { cause: err });
      if (err instanceof CheckpointVersionError) throw new CheckpointVersionError(`checkpoint '${name}': ${err.message}`, { cause: err });
      throw err;
    }
  }

  /**
   * The newest readable checkpoint of a partition, or null when there is none. Corrupt newer
   * ones are skipped (and reported in `skipped`); store errors are thrown.
   */
  async latest(partition: number): Promise<LatestCheckpoint | null> {
    const skipped: SkippedCheckpoint[] = [];
    for (const object of await this.list(partition)) {
      let checkpoint: Checkpoint | null;
      try {
        checkpoint = await this.get(object.name);
      } catch (err: unknown) {
        if (err instanceof CheckpointStoreError || !(err instanceof Error)) throw err;
        skipped.push({ name: object.name, error: err });
        continue;
      }
      // Pruned between list and get: the next one is older still, go on.
      if (checkpoint !== null) return { checkpoint, object, skipped };
    }
    return null;
  }

  /** Removes all but the newest `keep` checkpoints of a partition (meta and chunks); the names removed. */
  async prune(partition: number, keep = this.keep): Promise<string[]> {
    const old = (await this.list(partition)).slice(keep);
    const removed: string[] = [];
    for (const object of old) {
      try {
        const info = await this.os.info(object.name);
        if (info === null) continue;
        // Meta first: the object disappears at once, then its chunks.
        await this.jsm.streams.purge(this.stream, { filter: metaSubject(this.bucket, object.name) });
        await this.jsm.streams.purge(this.stream, { filter: `$O.${this.bucket}.C.${info.nuid}` });
      } catch (err: unknown) {
        throw new CheckpointStoreError(`cannot prune checkpoint '${object.name}': ${errorText(err)}`, { cause: err });
      }
      removed.push(object.name);
    }
    return removed;
  }

  /**
   * Purges chunks no object points to (left by writers that died mid-put), when their newest
   * chunk is at least `minAgeMs` old, so a put still in progress elsewhere is left alone.
   * Returns the number of chunk sets purged.
   */
  async sweepOrphans(minAgeMs: number, nowMs: number = Date.now()): Promise<number> {
    try {
      const chunkSubjects = `$O.${this.bucket}.C.>`;
      const info = await this.jsm.streams.info(this.stream, { subjects_filter: chunkSubjects });
      const live = new Set((await this.os.list()).map((i) => i.nuid));
      let purged = 0;
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const nuid = subject.slice(subject.lastIndexOf('.') + 1);
        if (live.has(nuid)) continue;
        const last = await this.jsm.streams.getMessage(this.stream, { last_by_subj: subject });
        if (nowMs - last.time.getTime() < minAgeMs) continue;
        await this.jsm.streams.purge(this.stream, { filter: subject });
        purged++;
      }
      return purged;
    } catch (err: unknown) {
      throw new CheckpointStoreError(`cannot sweep orphan chunks of '${this.bucket}': ${errorText(err)}`, { cause: err });
    }
  }
}

/** The meta subject of an object: `$O.<bucket>.M.<name in padded base64url>` (Object Store spec, ADR-20). */
function metaSubject(bucket: string, name: string): string {
  const b64 = Buffer.from(name, 'utf8').toString('base64url');
  return `$O.${bucket}.M.${b64}${'='.repeat((4 - (b64.length % 4)) % 4)}`;
}

function toObject(info: ObjectInfo): CheckpointObject | null {
  const m = NAME_PATTERN.exec(info.name);
  if (m === null || info.deleted) return null;
  return { name: info.name, group: m[1]!, partition: Number(m[2]), lastSeq: Number(m[3]), takenAtMs: Number(m[4]), sizeBytes: info.size, chunks: info.chunks };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
