/**
 * One id per output record version: the same window at the same revision, or the same alert
 * transition, always gets the same id, whoever emits it. NATS results carry it as
 * `Nats-Msg-Id`, so a JetStream stream over the results drops a window re-emitted after a
 * take-over as a duplicate (docs/worker-groups.md, "What is guaranteed").
 */
import type { OutputRecord } from '../domain/index.js';

export function outputRecordId(record: OutputRecord): string {
  switch (record.type) {
    case 'alert':
      return `alert:${record.site}:${record.node ?? ''}:${record.rule}:${record.state}:${record.atMs}`;
    case 'node':
      return `node:${record.site}:${record.node}:${record.windowMs}:${record.start}:${record.revision}`;
    case 'meter':
      return `meter:${record.site}:${record.meter}:${record.windowMs}:${record.start}:${record.revision}`;
    case 'site':
      return `site:${record.site}::${record.windowMs}:${record.start}:${record.revision}`;
  }
}
