/**
 * Run by the memory section in a fresh process (`node --expose-gc --import tsx`): fills a
 * memoryStore with N conversations through `recordInbound` (the real write path: key string,
 * state object and the message_uuid dedupe entry are all retained as in production), then
 * prints JSON with the retained heap per conversation and op times as the store grows.
 */
import { randomUUID } from 'node:crypto';
import type { ConversationKey } from '../src/ids.js';
import { memoryStore } from '../src/store/memory.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const n = Number(process.argv[2] ?? 100_000);
const PAGE = '107329271234567';
const key = (i: number) => `${PAGE}:${7_000_000_000_000_000 + i}` as ConversationKey;
const BATCH = 10_000;
// crypto.randomUUID() returns a tree of concatenated strings (~500 B each while unflattened);
// a message_uuid from a webhook is a flat string out of JSON.parse, so the bench uses that.
const uuid = (): string => JSON.parse(`"${randomUUID()}"`) as string;

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function main() {
  const before = heap();
  const store = memoryStore({ maxConversations: n });
  const now = Date.now();
  const growth: { size: number; recordNs: number; getNs: number }[] = [];
  const records: number[] = [];
  const gets: number[] = [];
  // A single batch can hold a full garbage collection of a large heap; each checkpoint takes
  // the median of the last five batches instead.
  const recent = (values: number[]) => {
    const last = values.slice(-5).sort((a, b) => a - b);
    return last[Math.floor(last.length / 2)]!;
  };
  for (let i = 0; i < n; i += BATCH) {
    const start = process.hrtime.bigint();
    for (let j = i; j < i + BATCH; j++) await store.recordInbound(key(j), now - 1000 + (j % 1000), uuid());
    records.push(Number(process.hrtime.bigint() - start) / BATCH);
    const size = i + BATCH;
    // Reads of random existing conversations at this size.
    const getStart = process.hrtime.bigint();
    for (let j = 0; j < BATCH; j++) await store.get(key(Math.floor(Math.random() * size)));
    gets.push(Number(process.hrtime.bigint() - getStart) / BATCH);
    if (size === 50_000 || size === 100_000 || size === n || size % 250_000 === 0) {
      growth.push({ size, recordNs: recent(records), getNs: recent(gets) });
    }
  }
  const after = heap();
  // Keep the store reachable until after the measurement.
  if ((await store.get(key(0))) === null) throw new Error('conversation 0 was evicted');
  process.stdout.write(
    `${JSON.stringify({ n, heapDeltaBytes: after - before, bytesPerConversation: (after - before) / n, growth })}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
