import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../src/ids.js';
import { ingestWith } from '../src/store/ingest.js';
import { memoryStore } from '../src/store/memory.js';
import type { IngestInput, SessionStore, StatusEffect } from '../src/store/types.js';

// memoryStore.ingest is the hand-tuned, synchronous form of ingestWith's composed path. Both
// run the same random webhooks on the same clock (small pools of ids, so replays, duplicate
// messages, closes and unlinks collide often); every result and every read afterwards must agree.

const PAGES = ['1', '2'] as const;
const KEYS = PAGES.flatMap((p) =>
  ['3', '4'].map((u) => ({ page: pageId(p), key: conversationKey(pageId(p), psid(u)) })),
);

const effect: fc.Arbitrary<StatusEffect | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant({ kind: 'close', reason: 'closed_by_platform' } as const),
  fc.boolean().map((ifLinked) => ({ kind: 'unlink', ifLinked, details: { errorCode: '1370' } }) as const),
);

const webhook = fc.record({
  conversation: fc.nat(KEYS.length - 1),
  replay: fc.nat(5),
  uuid: fc.nat(3),
  at: fc.integer({ min: -3, max: 3 }).map((i) => i * 100),
  status: fc.option(fc.record({ effect, dedupe: fc.nat(3) }), { nil: undefined }),
  lease: fc.option(fc.nat(2), { nil: undefined }),
  advance: fc.nat(300),
});

describe('memoryStore.ingest', () => {
  it('agrees with the composed path (ingestWith without a native ingest) on results and on every read after', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(webhook, { maxLength: 25 }), async (webhooks) => {
        let clock = 10_000;
        const options = { now: () => clock, ttlMs: 1000, dedupeTtlMs: 500 };
        const native = memoryStore(options);
        const { ingest: _native, readForSend: _read, ...composedStore } = memoryStore(options);
        const composed: SessionStore = composedStore;
        for (const w of webhooks) {
          clock += w.advance;
          const { page, key } = KEYS[w.conversation]!;
          const input: IngestInput = {
            now: clock,
            replay: { id: `jti:${w.replay}`, ttlMs: 400 },
            ...(w.status === undefined
              ? { message: { key, pageId: page, at: clock + w.at, messageUuid: `m-${w.uuid}` } }
              : {
                  status: {
                    key,
                    pageId: page,
                    at: clock + w.at,
                    effect: w.status.effect,
                    dedupe: { id: `s-${w.status.dedupe}`, ttlMs: 400 },
                  },
                }),
            lease: w.lease === undefined ? undefined : { id: `d-${w.lease}`, ttlMs: 200 },
          };
          expect(await ingestWith(native, input)).toEqual(await ingestWith(composed, input));
        }
        for (const { page, key } of KEYS) {
          expect(await native.get(key)).toEqual(await composed.get(key));
          expect(await native.getPage(page)).toEqual(await composed.getPage(page));
          expect(await native.readForSend?.(page, key)).toEqual({
            page: await composed.getPage(page),
            conversation: await composed.get(key),
          });
        }
        const range = { from: 0, to: clock + 1000, limit: 10 };
        expect(await native.listByLastInbound?.(range)).toEqual(await composed.listByLastInbound?.(range));
      }),
      { numRuns: 300 },
    );
  });
});
