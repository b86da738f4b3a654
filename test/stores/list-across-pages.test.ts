import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConversationKey } from '../../src/ids.js';
import { compareInbound, listAcrossPages } from '../../src/store/shared.js';
import type { InboundEntry, InboundRange } from '../../src/store/types.js';

// listAcrossPages (the Redis store's query over every Page) against one sorted list of
// everything. Page IDs of different lengths ('1', '12', '2') make the byte order of keys
// differ from (pageId, psid) order, which the cross-Page cursor has to respect.

const PAGES = ['1', '12', '2', '100'] as const;

const entry = (page: string, psid: string, at: number): InboundEntry => ({
  key: `${page}:${psid}` as ConversationKey,
  state: { lastInboundAt: at, lastInboundUuid: 'u' },
});
const position = (e: InboundEntry) => ({ at: e.state.lastInboundAt, key: e.key });
const isAfter = (e: InboundEntry, after: InboundRange['after']) =>
  after === undefined || compareInbound(position(e), after) > 0;

/** A Page's index as the Redis LIST script reads it: filtered, ordered, cut to `want`. */
function lister(all: InboundEntry[], to: number, reads: { entries: number }) {
  return async (page: string, from: number, after: InboundRange['after'], want: number) => {
    const found = all
      .filter((e) => e.key.startsWith(`${page}:`))
      .filter((e) => e.state.lastInboundAt > from && e.state.lastInboundAt <= to && isAfter(e, after))
      .sort((a, b) => compareInbound(position(a), position(b)))
      .slice(0, want);
    reads.entries += found.length;
    return found;
  };
}

const world = fc
  .uniqueArray(
    fc.record({
      page: fc.constantFrom(...PAGES),
      psid: fc.constantFrom('3', '30', '4', '5', '55', '6', '60', '7', '8', '9'),
      at: fc.integer({ min: 0, max: 20 }),
    }),
    { selector: (e) => `${e.page}:${e.psid}`, maxLength: 40 },
  )
  .map((list) => list.map((e) => entry(e.page, e.psid, e.at)));

describe('listAcrossPages', () => {
  it('lists what one sorted list of every Page lists, for any range, cursor and limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        world,
        fc.integer({ min: -1, max: 20 }),
        fc.integer({ min: 0, max: 21 }),
        fc.integer({ min: 1, max: 8 }),
        fc.option(
          fc.record({
            at: fc.integer({ min: 0, max: 20 }),
            page: fc.constantFrom(...PAGES),
            psid: fc.constantFrom('3', '30', '4', '55'),
          }),
          { nil: undefined },
        ),
        async (all, from, to, limit, cursor) => {
          const after =
            cursor === undefined
              ? undefined
              : { at: cursor.at, key: `${cursor.page}:${cursor.psid}` as ConversationKey };
          const range: InboundRange = { from, to, limit, after };
          const want = all
            .filter((e) => e.state.lastInboundAt > from && e.state.lastInboundAt <= to && isAfter(e, after))
            .sort((a, b) => compareInbound(position(a), position(b)))
            .slice(0, limit);
          const got = await listAcrossPages(PAGES, range, lister(all, to, { entries: 0 }));
          expect(got.map(position)).toEqual(want.map(position));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads a few times the limit across 100 Pages, not the limit from every Page', async () => {
    const pages = Array.from({ length: 100 }, (_, i) => String(1000 + i));
    const sorted = (entries: InboundEntry[]) => [...entries].sort((a, b) => compareInbound(position(a), position(b)));
    // 100 entries per Page, times interleaved across Pages.
    const even = pages.flatMap((page, p) => Array.from({ length: 100 }, (_, i) => entry(page, String(i), i * 100 + p)));
    const reads = { entries: 0 };
    const got = await listAcrossPages(pages, { from: -1, to: 1e9, limit: 100 }, lister(even, 1e9, reads));
    expect(got.map(position)).toEqual(sorted(even).slice(0, 100).map(position));
    expect(reads.entries).toBeLessThanOrEqual(400);
    // Skewed: five Pages hold all of the first 100; they are read again until they are done.
    const skewed = pages.flatMap((page, p) =>
      Array.from({ length: 100 }, (_, i) => entry(page, String(i), p < 5 ? i * 5 + p : 10_000 + i * 100 + p)),
    );
    const again = await listAcrossPages(pages, { from: -1, to: 1e9, limit: 100 }, lister(skewed, 1e9, { entries: 0 }));
    expect(again.map(position)).toEqual(sorted(skewed).slice(0, 100).map(position));
  });

  it('keeps the newer position of a conversation read twice (it moved between two reads)', async () => {
    let reads = 0;
    const listPage = async (page: string, _from: number, after: InboundRange['after']) => {
      if (page !== '1') return [entry(page, 'a', 10)];
      reads += 1;
      // First read: the conversation at 1, another at 2; the second read finds it moved to 5.
      return after === undefined ? [entry('1', '7', 1), entry('1', '8', 2)] : [entry('1', '7', 5)];
    };
    const got = await listAcrossPages(['1', '2', '3', '4'], { from: 0, to: 10, limit: 4 }, listPage);
    expect(reads).toBe(2);
    expect(got.map((e) => `${e.key}@${e.state.lastInboundAt}`)).toEqual(['1:8@2', '1:7@5', '2:a@10', '3:a@10']);
  });
});
