/* global process, setInterval, clearInterval */
// A worker-group member as its own process (for SIGSTOP, SIGKILL and SIGTERM tests), run
// from the built dist/. Settings in $GROUP_WORKER (JSON). Prints one JSON line per event
// (ready, acquire, lose, release, stopped). Its "output path" publishes every 25 ms, for
// each partition it was given, a write to `writes.<bucket>`, but only while fence() says
// it still owns the partition with that token.
import { connect } from 'nats';
import { GroupMember, openGroupBucket } from '../../dist/pipeline/group/index.js';
import { createLogger } from '../../dist/telemetry/index.js';

const cfg = JSON.parse(process.env.GROUP_WORKER ?? '{}');
const print = (o) => process.stdout.write(`${JSON.stringify({ ...o, atMs: Date.now() })}\n`);

const nc = await connect({ servers: cfg.servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
const kv = await openGroupBucket(nc.jetstream(), { bucket: cfg.bucket, replicas: cfg.replicas ?? 3 });
const given = new Map();
const member = new GroupMember({
  kv,
  workerId: cfg.workerId,
  partitionCount: cfg.partitionCount,
  leaseMs: cfg.leaseMs,
  heartbeatMs: cfg.heartbeatMs,
  safetyMarginMs: cfg.safetyMarginMs,
  log: createLogger({ level: 'silent' }),
  onAcquire: (partition, token) => {
    given.set(partition, token);
    print({ event: 'acquire', partition, token });
  },
  onLose: (partition, token) => {
    given.delete(partition);
    print({ event: 'lose', partition, token });
  },
  onRelease: async (partition, token) => {
    given.delete(partition);
    print({ event: 'release', partition, token });
  },
});
await member.start();
print({ event: 'ready' });

const subject = `writes.${cfg.bucket}`;
const output = setInterval(() => {
  for (const [partition, token] of given) {
    if (member.fence(partition, token)) nc.publish(subject, JSON.stringify({ workerId: cfg.workerId, partition, token, fencedAtMs: Date.now() }));
  }
}, 25);

process.once('SIGTERM', () => {
  clearInterval(output);
  void member
    .stop()
    .then(() => nc.drain())
    .then(() => {
      print({ event: 'stopped' });
      process.exit(0);
    });
});
