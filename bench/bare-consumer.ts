/**
 * The ceiling for a Node consumer (bench:e2e): a bare nats.js JetStream pull consumer that only
 * decodes each message's JSON and acknowledges it. Same consumer settings as `headroom run`.
 * Usage: node bare-consumer.js <natsUrl> <stream> <durable> <batch>
 */
import { AckPolicy, connect } from 'nats';

const [url, stream, durable, batchText] = process.argv.slice(2);
if (url === undefined || stream === undefined || durable === undefined) throw new Error('usage: bare-consumer <url> <stream> <durable> <batch>');
const batch = Number(batchText ?? 500);
const nc = await connect({ servers: url });
const jsm = await nc.jetstreamManager();
await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
const consumer = await nc.jetstream().consumers.get(stream, durable);
const decoder = new TextDecoder();
let readings = 0;
const messages = await consumer.consume({ max_messages: batch, expires: 1000 });
process.on('SIGTERM', () => void messages.close().then(() => nc.close()));
for await (const m of messages) {
  const value: unknown = JSON.parse(decoder.decode(m.data));
  readings += Array.isArray(value) ? value.length : 1;
  m.ack();
}
process.stdout.write(`${readings}\n`);
