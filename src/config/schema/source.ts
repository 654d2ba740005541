/** `source` (memory, NATS core, JetStream with stream and consumer) and the `nats` connection. */
import { z } from 'zod';
import { durationMs, sizeBytes } from '../units.js';
import { id, positive, secretSchema, strictObject, subjectPrefix } from './common.js';
import { lineProtocolInputSchema } from './line-protocol.js';

// ---------------------------------------------------------------------------------------
// source

const sourceCommon = {
  subjectPrefix: subjectPrefix.default('telemetry').describe('Readings arrive on `<subjectPrefix>.<site>.<source>`. Default telemetry.'),
  sites: z.array(id).min(1).optional().describe('Only these sites are consumed (must be configured sites). Default: all.'),
  maxMessageBytes: positive(sizeBytes, 'maxMessageBytes').default(1_048_576).describe('Messages larger than this are rejected (size: bytes or `1MiB`). Default 1048576.'),
  lineProtocol: z.array(lineProtocolInputSchema).default([]).describe('Subjects whose messages are InfluxDB line protocol (Telegraf\'s NATS output), each with the precision of its timestamps and the mapping of points to readings; the first pattern that matches a subject wins. Every other subject carries JSON readings. Default: none.'),
};

const streamSchema = strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('TELEMETRY').describe('JetStream stream name. Default TELEMETRY.'),
  subjects: z.array(z.string().min(1)).min(1).optional().describe('Subjects the stream captures. Default [`<subjectPrefix>.>`].'),
  maxAge: durationMs.default('7d').describe('Retention by age (0 = unlimited). Default 7d.'),
  maxBytes: positive(sizeBytes, 'maxBytes').optional().describe('Retention by size (bytes or `10GB`). Default: unlimited.'),
  replicas: z.number().int().min(1).max(5).default(1).describe('Stream replicas, 1..5. Default 1.'),
  storage: z.enum(['file', 'memory']).default('file').describe('Storage backend. Default file.'),
}).transform((s) => ({
  name: s.name,
  subjects: s.subjects,
  maxAgeMs: s.maxAge,
  maxBytes: s.maxBytes,
  replicas: s.replicas,
  storage: s.storage,
}));

const consumerSchema = strictObject({
  durable: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('headroom').describe('Durable consumer name shared by the workers. Default headroom.'),
  maxAckPending: z.number().int().positive().default(10_000).describe('Unacknowledged messages in flight at most. Default 10000.'),
  batch: z.number().int().positive().default(500).describe('Messages per pull. Default 500.'),
  expires: positive(durationMs, 'expires').default('5s').describe('How long a pull waits for messages. Default 5s.'),
  ackWait: positive(durationMs, 'ackWait').default('30s').describe('Redelivery after this long without an ack. Default 30s.'),
}).transform((c) => ({
  durable: c.durable,
  maxAckPending: c.maxAckPending,
  batch: c.batch,
  expiresMs: c.expires,
  ackWaitMs: c.ackWait,
}));

const groupSchema = strictObject({
  name: id.describe('Group name: workers with the same name share the partitions.'),
  lease: positive(durationMs, 'lease').default('10s').describe('How long a lease lasts without renewal: a worker that dies loses its partitions after this long. Default 10s (one smallest window; outlasts a cluster leader election).'),
  heartbeat: positive(durationMs, 'heartbeat').default('2s').describe('Renewal, membership heartbeat and rebalance interval. Default 2s.'),
  safetyMargin: positive(durationMs, 'safetyMargin').default('2s').describe('A holder gives a partition up this long before the lease could expire for anyone else (covers clock rate drift and writes in flight). Default 2s.'),
  bucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must match [A-Za-z0-9_-]{1,64}' }).optional().describe('KV bucket of the leases. Default `headroom-group-<name>`.'),
  replicas: z.number().int().min(1).max(5).optional().describe('KV bucket replicas, 1..5 (3 on a 3-node cluster). Default: the stream\'s replicas.'),
  checkpointEvery: positive(durationMs, 'checkpointEvery').default('10s').describe("How often each owned partition's state is checkpointed (and always on hand-over). After a crash the next owner re-reads at most this much of the stream. Default 10s."),
  checkpointBucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must match [A-Za-z0-9_-]{1,64}' }).optional().describe('Object Store bucket of the checkpoints. Default `headroom-checkpoints-<name>`.'),
  checkpointsKept: z.number().int().min(1).max(100).default(2).describe('Checkpoints kept per partition (older ones are pruned). Default 2.'),
})
  .superRefine((g, ctx) => {
    if (typeof g.lease !== 'number' || typeof g.heartbeat !== 'number' || typeof g.safetyMargin !== 'number') return;
    if (2 * g.heartbeat + g.safetyMargin > g.lease) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['heartbeat'], message: `two heartbeats plus the safety margin must fit in the lease (2 × ${g.heartbeat} ms + ${g.safetyMargin} ms > ${g.lease} ms)` });
    }
  })
  .transform((g) => ({
    name: g.name,
    leaseMs: g.lease,
    heartbeatMs: g.heartbeat,
    safetyMarginMs: g.safetyMargin,
    bucket: g.bucket ?? `headroom-group-${g.name}`,
    replicas: g.replicas,
    checkpointEveryMs: g.checkpointEvery,
    checkpointBucket: g.checkpointBucket ?? `headroom-checkpoints-${g.name}`,
    checkpointsKept: g.checkpointsKept,
  }));

export const sourceSchema = z
  .discriminatedUnion('kind', [
    strictObject({ kind: z.literal('memory'), ...sourceCommon }).describe('In-process bus (the embedded default, tests).'),
    strictObject({ kind: z.literal('nats'), ...sourceCommon }).describe('Core NATS subscription: at-most-once, lowest latency.'),
    strictObject({
      kind: z.literal('jetstream'),
      ...sourceCommon,
      stream: streamSchema.default({}).describe('Stream settings (created or updated at start-up).'),
      consumer: consumerSchema.default({}).describe('Durable consumer settings.'),
      partitions: strictObject({
        subjectPrefix: subjectPrefix.default('tp').describe('Prefix of partitioned subjects. Default tp.'),
        ids: z.array(z.number().int().min(0)).min(1).optional().describe('Partition numbers this worker consumes (static assignment; excludes `group`).'),
        count: z.number().int().min(1).max(1024).optional().describe('Number of partitions P of the subject mapping (`partition(P, …)`); required with `group`. Without `ids` and `group`, this worker consumes all P.'),
      }).optional().describe('Consume only some partitions of a partitioned stream (docs/design.md section 8): a server-side subject mapping with the `partition` function turns `telemetry.<site>.<source>` into `<subjectPrefix>.<p>.<site>.<source>`; this worker takes partitions `ids` (one durable consumer each, `<durable>-p<id>`). Excludes `sites`. Default: no partitions.'),
      group: z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), groupSchema).optional().describe('Worker group (docs/worker-groups.md): every worker with the same group name shares the `partitions.count` partitions through leases in a NATS KV bucket. A name, or the settings. Needs `partitions.count`; excludes `partitions.ids`. Default: no group.'),
    }).describe('JetStream durable pull consumer: at-least-once, replayable.'),
  ])
  .superRefine((s, ctx) => {
    if (s.kind !== 'jetstream') return;
    refineGroup(s, ctx);
    if (s.partitions === undefined) return;
    if (s.sites !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['partitions'], message: 'partitions and sites exclude each other: a partition holds whichever sites the mapping puts there' });
    }
    const { ids, count } = s.partitions;
    if (ids !== undefined && new Set(ids).size !== ids.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['partitions', 'ids'], message: 'duplicate partition id' });
    }
    if (ids !== undefined && count !== undefined) {
      ids.forEach((p, i) => {
        if (p >= count) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['partitions', 'ids', i], message: `partition ${p} does not exist: partitions are 0..${count - 1} (count ${count})` });
      });
    }
    if (ids === undefined && count === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['partitions'], message: 'give ids (static assignment) or count (all partitions, or a group)' });
    }
  })
  .transform((s) => {
    if (s.kind !== 'jetstream') return s;
    const { partitions, group, ...rest } = s;
    return {
      ...rest,
      stream: { ...s.stream, subjects: s.stream.subjects ?? [`${partitions?.subjectPrefix ?? s.subjectPrefix}.>`] },
      ...(partitions === undefined ? {} : { partitions: { ...partitions, ids: partitions.ids ?? allPartitions(partitions.count ?? 0) } }),
      ...(group === undefined ? {} : { group: { ...group, replicas: group.replicas ?? s.stream.replicas } }),
    };
  });

/** 0..count-1: with a group, the partitions it shares (each worker consumes those it holds a lease on). */
function allPartitions(count: number): number[] {
  return Array.from({ length: count }, (_, p) => p);
}

/** The cross-field rules of `group`: it needs `partitions.count` and excludes `partitions.ids`. */
function refineGroup(
  s: { group?: { name: string } | undefined; partitions?: { ids?: number[] | undefined; count?: number | undefined } | undefined; sites?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  if (s.group === undefined) return;
  if (s.partitions === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['group'], message: 'a group shares the partitions of a partitioned stream: add partitions: { count: P } (P as in the partition(P, …) subject mapping)' });
    return;
  }
  if (s.partitions.ids !== undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['partitions', 'ids'], message: 'partitions.ids and group exclude each other: ids assign partitions statically, a group assigns them by lease' });
  }
  if (s.partitions.count === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['partitions', 'count'], message: 'a group needs the number of partitions P of the subject mapping' });
  }
}

// ---------------------------------------------------------------------------------------
// nats connection

/** A server URL with `user:password@` (or `token@`): nats.js ignores it, and logs would show it. */
export function natsUrlHasCredentials(url: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/@]*@/.test(url);
}

/** A server URL that asks for TLS (`tls://`); the connection then requires it. */
export function natsUrlRequiresTls(url: string): boolean {
  return /^tls:\/\//i.test(url);
}

/** Why URL credentials are refused, and what to use instead (config error, exit 2). */
export const NATS_URL_CREDENTIALS_MESSAGE =
  'credentials in a server URL are not supported (the client ignores them and logs would show them): ' +
  'give them as nats.user + nats.password, or nats.token, each as { env: VAR } or { file: path }';

export const natsSchema = strictObject({
  servers: z.array(z.string().regex(/^(nats|tls|ws|wss):\/\/\S+$|^[^\s:/]+:\d+$/, { message: 'expected nats://host:port (or tls://, ws://, wss://, host:port)' })).min(1).default(['nats://127.0.0.1:4222']).describe('Server URLs. Default [nats://127.0.0.1:4222]. `tls://` requires TLS (the connection fails if the server offers none); use it for every server or none. No credentials in URLs.'),
  user: secretSchema.optional().describe('User name (secret form).'),
  password: secretSchema.optional().describe('Password (secret form).'),
  token: secretSchema.optional().describe('Token (secret form).'),
  nkeySeed: secretSchema.optional().describe('NKey seed (secret form).'),
  credsFile: secretSchema.optional().describe('Path of a `.creds` file (secret form; resolves to the path).'),
  tls: strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).optional().describe('TLS file paths: ca, cert, key.'),
  name: z.string().min(1).default('headroom').describe('Connection name shown by the server. Default headroom.'),
}).superRefine((n, ctx) => {
  n.servers.forEach((url, i) => {
    // The message never repeats the URL: it holds a secret.
    if (natsUrlHasCredentials(url)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['servers', i], message: NATS_URL_CREDENTIALS_MESSAGE });
  });
  const tlsUrls = n.servers.filter(natsUrlRequiresTls).length;
  if (n.tls === undefined && tlsUrls > 0 && tlsUrls < n.servers.length) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['servers'],
      message: 'mixes tls:// with other schemes: TLS is one setting for the whole connection; use tls:// for every server, or add a tls section (TLS for all)',
    });
  }
  if ((n.user === undefined) !== (n.password === undefined)) {
    const missing = n.user === undefined ? 'user' : 'password';
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [missing], message: 'user and password must be given together' });
  }
  if (n.tls !== undefined && (n.tls.cert === undefined) !== (n.tls.key === undefined)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tls'], message: 'tls.cert and tls.key must be given together' });
  }
});
