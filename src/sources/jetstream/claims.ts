/**
 * Worker-group claims on a partition: each owner consumes its partition through a durable
 * consumer of its own, named by its lease token and started at its checkpoint's sequence, so
 * a worker that lost its lease (and may still be pulling) never takes messages from the next
 * owner's consumer. The server deletes an owner's consumer once idle for `inactiveMs`; a new
 * owner deletes those of earlier owners at once.
 */
import type { JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { JS_ERR_CONSUMER_NOT_FOUND, apiErrorCode } from './errors.js';

/** A worker-group claim on one partition: the lease token and where the checkpoint left off. */
export interface PartitionClaim {
  partition: number;
  /** The lease's fencing token (its KV revision): names this owner's consumer. */
  token: number;
  /** First stream sequence not in the checkpoint (1 without one). */
  startSequence: number;
  /** Idle time after which the server deletes the consumer of a vanished owner. */
  inactiveMs: number;
}

/** The durable consumer of one owner of a partition. */
export function claimDurable(durable: string, claim: Pick<PartitionClaim, 'partition' | 'token'>): string {
  return `${claimDurablePrefix(durable, claim.partition)}${claim.token}`;
}

/** The name prefix every owner's consumer of `partition` shares. */
export function claimDurablePrefix(durable: string, partition: number): string {
  return `${durable}-p${partition}-t`;
}

/** Deletes the consumers earlier owners of the claimed partition left behind. */
export async function deleteStaleClaims(jsm: JetStreamManager, stream: string, durable: string, claim: PartitionClaim, log: Logger): Promise<number> {
  const prefix = claimDurablePrefix(durable, claim.partition);
  const mine = claimDurable(durable, claim);
  let deleted = 0;
  for await (const info of jsm.consumers.list(stream)) {
    const name = info.name;
    if (!name.startsWith(prefix) || name === mine || !/^\d+$/.test(name.slice(prefix.length))) continue;
    try {
      await jsm.consumers.delete(stream, name);
      deleted++;
    } catch (err: unknown) {
      if (apiErrorCode(err) !== JS_ERR_CONSUMER_NOT_FOUND) throw err;
    }
  }
  if (deleted > 0) log.info({ stream, partition: claim.partition, deleted }, 'consumers of earlier owners deleted');
  return deleted;
}
