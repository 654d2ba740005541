/**
 * JetStream source: durable pull consumer, at-least-once, replayable.
 *
 * Start-up creates the stream (name, subjects, maxAge, maxBytes, storage, replicas) and the
 * durable pull consumer (explicit ack, `max_ack_pending`, `ack_wait`) when absent, and
 * updates them when present and compatible (an incompatible one — other storage, another
 * filter, a push consumer, another ack policy — stops start-up with `JetStreamSetupError`).
 *
 * Site filter. `filter_subjects` (several filters on one consumer) needs nats-server 2.10;
 * Debian ships 2.9. So with a site filter there is one durable consumer per site, named
 * `<durable>-<site>` with `filter_subject: <subjectPrefix>.<site>.>`; without one, a single
 * consumer `<durable>` takes the whole stream. Filtering client-side and acking the rest
 * would silently consume other workers' sites, so it is not done. Per-site consumers also
 * keep their positions when the site list changes.
 *
 * Delivery. Each consumer pulls `batch` messages at a time (a pull waits at most
 * `expires`); what has arrived is handed to the handler as one batch, with
 * `position: { stream, sequence }` and `ack`. The handler acks after recording; this source
 * never acks. Handler calls are serialized across consumers, and the next batch waits for
 * the previous handler promise. A batch the handler throws on is not acked and comes back
 * after `ack_wait`.
 *
 * Pause. `pause()` stops handing messages over; the pull stays open. What JetStream already
 * delivered (at most `max_ack_pending` messages: JetStream stops there) is held, unacked, and
 * an in-progress ack every half `ack_wait` keeps it from being redelivered; `resume()` hands
 * it over first, in order. Stopping the pull instead would strand the messages on the wire
 * (the client drops them once unsubscribed) until `ack_wait` brought them back, as late data.
 * `stop()` naks what is held, so another worker gets it at once.
 *
 * Caught up. `health().caughtUp` is true when connected, not paused, with nothing held and
 * nothing pending (`msg.info.pending` of the last message, refreshed from consumer info every
 * `pendingRefreshMs`; when nothing arrived between two refreshes, unacked messages this
 * source does not hold count as pending: they come back after `ack_wait`). The pipeline lets
 * idle sites advance on the processing clock only while caught up.
 *
 * Reconnect. Pulls that fail while NATS is away are retried with a capped backoff; nats.js
 * re-issues the open pull after a reconnect. Messages delivered but not acked before a
 * server restart are redelivered after `ack_wait`: nothing is lost, some may come twice.
 *
 * nats-server before 2.10.14 (Debian's 2.9 included; nats-io/nats-server#5305). A redelivery
 * (after `ack_wait`, or a nak) that finds only expired or abandoned pull requests waiting is
 * dropped until the next `ack_wait`, and the consumer steps back one message, which then comes
 * again as a first delivery. Nothing is lost, but that redelivery comes an `ack_wait` late and
 * one message twice. It takes a redelivery falling due in the moment a pull expires (rare), or
 * a nak right after the only pull went away: so `stop()` first has the server drop its pull (a
 * consumer-info round trip), then naks.
 */
export { JetStreamSetupError } from './errors.js';
export { ensureConsumer, ensureStream, planConsumers, type ConsumerPlan } from './setup.js';
export { claimDurable, type PartitionClaim } from './claims.js';
export type { JetStreamSourceCounters, JetStreamSourceOptions } from './types.js';
export { JetStreamSource } from './source.js';
