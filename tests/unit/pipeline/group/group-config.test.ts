/**
 * `source.group`: a worker group over all partitions of a partitioned JetStream stream
 * (docs/worker-groups.md). Shape, defaults, and every cross-field rule named by its path.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText, type JetStreamSourceConfig } from '../../../../src/config/index.js';

const SITES = 'sites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]';

function parse(source: string): { source?: JetStreamSourceConfig; paths: string[]; messages: string[] } {
  const parsed = parseConfigText(`source: ${source}\n${SITES}`, 'group.yaml');
  if (!parsed.ok) return { paths: parsed.issues.map((i) => i.path), messages: parsed.issues.map((i) => i.message) };
  const src = parsed.config.source;
  if (src.kind !== 'jetstream') throw new Error(`expected a jetstream source, got ${src.kind}`);
  return { source: src, paths: [], messages: [] };
}

describe('source.group', () => {
  it('a name alone gives the defaults: lease 10 s, heartbeat 2 s, margin 2 s, bucket from the name, the stream replicas', () => {
    const { source, paths } = parse('{ kind: jetstream, stream: { replicas: 3 }, partitions: { count: 6 }, group: west }');
    expect(paths).toEqual([]);
    expect(source?.group).toEqual({ name: 'west', leaseMs: 10_000, heartbeatMs: 2_000, safetyMarginMs: 2_000, bucket: 'headroom-group-west', replicas: 3, checkpointEveryMs: 10_000, checkpointBucket: 'headroom-checkpoints-west', checkpointsKept: 2 });
    // The group shares all P partitions; which ones this worker consumes is decided by leases.
    expect(source?.partitions).toEqual({ subjectPrefix: 'tp', count: 6, ids: [0, 1, 2, 3, 4, 5] });
  });

  it('checkpoint settings: interval with units, bucket, how many are kept; bad values name their path', () => {
    const { source, paths } = parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, checkpointEvery: 1m, checkpointBucket: cp, checkpointsKept: 5 } }');
    expect(paths).toEqual([]);
    expect(source?.group).toMatchObject({ checkpointEveryMs: 60_000, checkpointBucket: 'cp', checkpointsKept: 5 });
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, checkpointsKept: 0 } }').paths).toEqual(['source.group.checkpointsKept']);
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, checkpointBucket: "a/b" } }').paths).toEqual(['source.group.checkpointBucket']);
  });

  it('settings with units, an explicit bucket and replicas', () => {
    const { source, paths } = parse('{ kind: jetstream, partitions: { count: 4, subjectPrefix: part }, group: { name: g1, lease: 6s, heartbeat: 1s, safetyMargin: 1500ms, bucket: leases, replicas: 3 } }');
    expect(paths).toEqual([]);
    expect(source?.group).toEqual({ name: 'g1', leaseMs: 6_000, heartbeatMs: 1_000, safetyMarginMs: 1_500, bucket: 'leases', replicas: 3, checkpointEveryMs: 10_000, checkpointBucket: 'headroom-checkpoints-g1', checkpointsKept: 2 });
  });

  it('static partitions keep working as before, with or without count', () => {
    expect(parse('{ kind: jetstream, partitions: { ids: [1, 3] } }').source?.partitions).toEqual({ subjectPrefix: 'tp', ids: [1, 3] });
    expect(parse('{ kind: jetstream, partitions: { ids: [1, 3], count: 4 } }').source?.partitions).toEqual({ subjectPrefix: 'tp', ids: [1, 3], count: 4 });
    expect(parse('{ kind: jetstream, partitions: { count: 2 } }').source?.partitions?.ids).toEqual([0, 1]);
    expect(parse('{ kind: jetstream }').source?.group).toBeUndefined();
  });

  it('a group needs partitions with a count', () => {
    expect(parse('{ kind: jetstream, group: west }').paths).toEqual(['source.group']);
    expect(parse('{ kind: jetstream, partitions: { ids: [0] }, group: west }').paths.sort()).toEqual(['source.partitions.count', 'source.partitions.ids']);
  });

  it('ids and group exclude each other', () => {
    const { paths, messages } = parse('{ kind: jetstream, partitions: { ids: [0, 1], count: 2 }, group: west }');
    expect(paths).toEqual(['source.partitions.ids']);
    expect(messages[0]).toMatch(/exclude each other/);
  });

  it('partitions need ids or count; ids must lie below count', () => {
    expect(parse('{ kind: jetstream, partitions: { subjectPrefix: tp } }').paths).toEqual(['source.partitions']);
    expect(parse('{ kind: jetstream, partitions: { ids: [0, 4], count: 4 } }').paths).toEqual(['source.partitions.ids[1]']);
  });

  it('two heartbeats and the margin must fit in the lease; durations are positive; names are checked', () => {
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, lease: 5s, heartbeat: 2s } }').paths).toEqual(['source.group.heartbeat']);
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, lease: 0s } }').paths).toContain('source.group.lease');
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: "a.b" } }').paths).toEqual(['source.group.name']);
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, bucket: "x y" } }').paths).toEqual(['source.group.bucket']);
    expect(parse('{ kind: jetstream, partitions: { count: 2 }, group: { name: g, leases: 3s } }').paths).toEqual(['source.group.leases']);
  });
});
