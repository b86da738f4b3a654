/**
 * memoryStore footprint and op time as it grows, each size in a fresh child process with
 * --expose-gc so that the heap delta is the store's alone.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SectionContext } from '../lib/context.js';
import { compare } from '../lib/report.js';

const run = promisify(execFile);
const SECTION = 'memory store';
const CHILD = fileURLToPath(new URL('../memory-child.ts', import.meta.url));

interface ChildResult {
  n: number;
  heapDeltaBytes: number;
  bytesPerConversation: number;
  growth: { size: number; recordNs: number; getNs: number }[];
}

async function measure(n: number): Promise<ChildResult> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', CHILD, String(n)],
    { maxBuffer: 1 << 20, timeout: 300_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
}

export async function memorySection(ctx: SectionContext): Promise<void> {
  const sizes = ctx.quick ? [100_000] : [100_000, 1_000_000];
  let largest: ChildResult | undefined;
  for (const n of sizes) {
    ctx.log(`memory: ${n.toLocaleString('en-US')} conversations`);
    const result = await measure(n);
    largest = result;
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: `bytes per conversation at ${n.toLocaleString('en-US')}`,
        subject: { label: 'heapUsed delta / n', value: result.bytesPerConversation, unit: 'B/conversation' },
        ratio: result.bytesPerConversation,
        ratioMeaning: 'B/conversation',
        target: { kind: 'max', value: 200, text: '≤ 200 B' },
        notes: [
          `${(result.heapDeltaBytes / 2 ** 20).toFixed(1)} MB retained after gc; filled through recordInbound (key, state and the message_uuid dedupe entry; default maxClaims 200 000, so past that dedupe entries are evicted)`,
        ],
      }),
    );
  }
  if (largest === undefined) return;
  const first = largest.growth.find((g) => g.size >= 100_000) ?? largest.growth[0]!;
  const last = largest.growth[largest.growth.length - 1]!;
  for (const op of ['recordNs', 'getNs'] as const) {
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: `${op === 'recordNs' ? 'recordInbound' : 'get'} time, ${first.size.toLocaleString('en-US')} → ${last.size.toLocaleString('en-US')}`,
        subject: { label: `at ${last.size.toLocaleString('en-US')}`, value: last[op] / 1000, unit: 'µs/op' },
        baseline: { label: `at ${first.size.toLocaleString('en-US')}`, value: first[op] / 1000, unit: 'µs/op' },
        ratio: last[op] / first[op],
        ratioMeaning: '× (growth)',
        target: { kind: 'max', value: 1.5, text: 'flat (≤ 1.5×)' },
        notes:
          op === 'recordNs'
            ? [
                `per-op mean, median of the last 5 batches of 10 000 before each size: ${largest.growth.map((g) => `${g.size}: ${(g.recordNs / 1000).toFixed(2)}/${(g.getNs / 1000).toFixed(2)} µs`).join(', ')} (record/get)`,
              ]
            : undefined,
      }),
    );
  }
}
