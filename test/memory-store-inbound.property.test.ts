import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidationError } from '../src/errors.js';
import { type ConversationKey, conversationKey, pageId, psid } from '../src/ids.js';
import { memoryStore } from '../src/store/memory.js';
import type { InboundRange } from '../src/store/types.js';

// memoryStore.listByLastInbound against a model that reads like the contract: the model
// keeps every conversation's latest inbound time and close, and answers a range by filtering
// and sorting everything. Keys on Pages "1" and "12" differ in length, so byte order of the
// key ("12:…" < "1:…" is false: ':' sorts after the digits) is exercised too. Times are
// multiples of 50 ms so that ties (equal times, a close at the message's own time) are common.

const TTL = 1000;
const PAGES = ['1', '12', '7'] as const;
const KEYS: ConversationKey[] = PAGES.flatMap((p) => ['3', '30', '4'].map((u) => conversationKey(pageId(p), psid(u))));

type Op =
  | { kind: 'record'; key: number; at: number }
  | { kind: 'close'; key: number; at: number }
  | { kind: 'delete'; key: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('record'),
      key: fc.nat(KEYS.length - 1),
      at: fc.integer({ min: -4, max: 4 }).map((i) => i * 50),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('close'),
      key: fc.nat(KEYS.length - 1),
      at: fc.integer({ min: -4, max: 4 }).map((i) => i * 50),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete'), key: fc.nat(KEYS.length - 1) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance'), ms: fc.integer({ min: 1, max: 12 }).map((i) => i * 50) }),
  },
) as fc.Arbitrary<Op>;

const query = fc.record({
  from: fc.integer({ min: 0, max: 66 }).map((i) => i * 50),
  width: fc.integer({ min: 0, max: 60 }).map((i) => i * 50),
  page: fc.option(fc.constantFrom(...PAGES), { nil: undefined }),
  limit: fc.integer({ min: 1, max: 12 }),
  after: fc.option(
    fc.record({ at: fc.integer({ min: 0, max: 66 }).map((i) => i * 50), key: fc.nat(KEYS.length - 1) }),
    {
      nil: undefined,
    },
  ),
});

interface Modelled {
  at: number;
  closedAt?: number;
}

describe('memoryStore.listByLastInbound, against a naive model', () => {
  it('lists what the model lists, for any history and any range', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 60 }),
        fc.array(query, { minLength: 1, maxLength: 5 }),
        async (ops, queries) => {
          let clock = 1000;
          const store = memoryStore({ ttlMs: TTL, now: () => clock });
          const model = new Map<ConversationKey, Modelled>();
          const live = (key: ConversationKey) => {
            const c = model.get(key);
            if (c !== undefined && c.at + TTL <= clock) model.delete(key);
            return model.get(key);
          };
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'advance') {
              clock += o.ms;
              continue;
            }
            const key = KEYS[o.key] as ConversationKey;
            const current = live(key);
            if (o.kind === 'delete') {
              await store.delete(key);
              model.delete(key);
            } else if (o.kind === 'record') {
              const at = clock + o.at;
              await store.recordInbound(key, at, `m-${n++}`);
              if (current !== undefined) current.at = Math.max(current.at, at);
              else if (at + TTL > clock) model.set(key, { at });
            } else {
              const at = clock + o.at;
              await store.markClosed(key, at, 'closed_by_platform');
              if (current !== undefined && (current.closedAt === undefined || at >= current.closedAt))
                current.closedAt = at;
            }
          }
          for (const q of queries) {
            const range: InboundRange = {
              from: q.from,
              to: q.from + q.width,
              pageId: q.page === undefined ? undefined : pageId(q.page),
              limit: q.limit,
              after: q.after === undefined ? undefined : { at: q.after.at, key: KEYS[q.after.key] as ConversationKey },
            };
            if (
              range.after !== undefined &&
              range.pageId !== undefined &&
              !range.after.key.startsWith(`${range.pageId}:`)
            ) {
              // A cursor from another Page is foreign input.
              await expect(store.listByLastInbound?.(range)).rejects.toSatisfy(isValidationError);
              continue;
            }
            const modelList = (after: InboundRange['after']) =>
              KEYS.flatMap((key) => {
                const c = live(key);
                if (c === undefined || (c.closedAt !== undefined && c.closedAt >= c.at)) return [];
                if (c.at <= range.from || c.at > range.to) return [];
                if (range.pageId !== undefined && !key.startsWith(`${range.pageId}:`)) return [];
                if (after !== undefined && !(c.at > after.at || (c.at === after.at && key > after.key))) return [];
                return [{ key, at: c.at }];
              }).sort((x, y) => x.at - y.at || (x.key < y.key ? -1 : 1));
            const listed = async (after: InboundRange['after']) =>
              ((await store.listByLastInbound?.({ ...range, after })) ?? []).map((e) => ({
                key: e.key,
                at: e.state.lastInboundAt,
              }));
            expect(await listed(range.after)).toEqual(modelList(range.after).slice(0, range.limit));
            // Paged from the start, each page resuming after the last entry of the one before.
            const paged: { key: ConversationKey; at: number }[] = [];
            for (let round = 0, page = await listed(undefined); round <= KEYS.length; round++) {
              paged.push(...page);
              if (page.length < range.limit) break;
              page = await listed(paged[paged.length - 1]);
            }
            expect(paged).toEqual(modelList(undefined));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
