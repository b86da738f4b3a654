/**
 * `vonage-messenger/testing/stores`: the one conformance suite that every {@link SessionStore}
 * runs — the memory, Redis, PostgreSQL and SQLite stores of this package, and yours.
 *
 * It registers vitest tests (`vitest` is an optional peer dependency of this subpath only), so
 * call it at the top level of a test file. Every test uses fresh random Page IDs and PSIDs and
 * real clock times, so several runs can share one database.
 *
 * @module
 */
import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { isValidationError } from '../errors.js';
import { type ConversationKey, conversationKey, type PageId, pageId, psid } from '../ids.js';
import { checkedStore } from '../store/checked.js';
import { ingestWith } from '../store/ingest.js';
import { unknownOptions } from '../store/shared.js';
import {
  type ClosedReason,
  type ConversationState,
  DEFAULT_STORE_TTL_MS,
  type InboundEntry,
  type InboundRange,
  type IngestInput,
  type SessionStore,
} from '../store/types.js';

/** A reasoned exemption: the named tests are reported as skipped with `reason`. */
export interface ConformanceSkip {
  /** Why these tests do not apply to the store (shown in the test report). Must not be empty. */
  reason: string;
  /** Test names exactly as listed in {@link SESSION_STORE_TESTS}. */
  tests: readonly SessionStoreTestName[];
}

/** The optional capabilities whose tests the suite gates on the store having them. */
export const OPTIONAL_CAPABILITIES = [
  'readForSend',
  'takeToken',
  'recordAdReferral',
  'setTagAvailability',
  'getTagAvailability',
  'listByLastInbound',
] as const;
/** One of {@link OPTIONAL_CAPABILITIES}. */
export type OptionalCapability = (typeof OPTIONAL_CAPABILITIES)[number];

/** Optional capabilities a store lacks on purpose, with why. */
export interface ConformanceAbsence {
  /** Why the store does without them (shown in the test titles). Must not be empty. */
  reason: string;
  capabilities: readonly OptionalCapability[];
}

/** Options of {@link describeSessionStore}. */
export interface ConformanceOptions {
  /** Tests that do not apply to this store, each group with its written reason. */
  skip?: readonly ConformanceSkip[] | undefined;
  /**
   * Optional capabilities the store lacks by design. Their tests then check that each is
   * absent (not half there) instead of being skipped. An undeclared missing capability
   * skips its tests, with the reason in the report.
   */
  lacks?: readonly ConformanceAbsence[] | undefined;
  /**
   * The conversation lifetime the store was created with (its `ttlMs`). Default 8 days, the
   * default of every store in this package. A conversation whose user last wrote longer ago
   * than this must read as unknown.
   */
  ttlMs?: number | undefined;
  /**
   * The short claim ttl of the expiry test, in ms. Default 40. It must exceed two round trips
   * to the backend: raise it for a backend reached over a slow link (the D1 suite, which
   * reaches workerd over HTTP on a shared CI machine, uses 1000).
   */
  shortTtlMs?: number | undefined;
}

/** The names of the conformance tests, for {@link ConformanceSkip.tests}. */
export const SESSION_STORE_TESTS = [
  'get returns null for a conversation never recorded',
  'records the first inbound message and returns its state',
  'keeps the latest inbound time when events arrive out of order',
  'keeps the uuid of the earlier-recorded message when two share a timestamp',
  'reports a repeated message_uuid as a duplicate and changes nothing',
  'dedupes per conversation: the same uuid in another conversation is new',
  'recordOutbound keeps the latest send time and never extends the window',
  'recordOutbound does nothing for an unknown conversation',
  'markClosed records closed_by_platform until a newer inbound message',
  'markClosed records user_unavailable',
  'markClosed ignores an older close and lets an equal or later one win',
  'markClosed does nothing for an unknown conversation',
  'getPage returns null for a Page never recorded',
  'setPageLinked stores an unlinked Page with its error details',
  'setPageLinked ignores an older change that arrives late',
  'setPageLinked to linked drops the error details',
  'claim is true once per id',
  'claim is true again after its ttl',
  'claim ids do not collide with message ids',
  'delete forgets the conversation and its message ids',
  'delete leaves other conversations and unknown keys alone',
  'a message older than the ttl is not kept',
  'a conversation is kept until ttlMs after its last message, and not longer',
  'a message id is remembered across a retry: seconds later, and for a message a day old',
  'recordOutbound and markClosed ignore an expired conversation',
  'the same PSID on two Pages is two conversations',
  'two PSIDs on one Page are two conversations',
  'Page link state is per Page',
  'hundreds of concurrent recordInbound on one key keep the max and count each message once',
  'the same message_uuid raced concurrently is new for exactly one call',
  'concurrent claims of one id succeed exactly once',
  'lease: the first copy acquires, a copy during the lease is held with retryAfterMs',
  'lease: after a successful settle every copy is done',
  'lease: after a failed settle the next copy acquires the next attempt',
  'lease: an expired lease is taken over; the old attempt failing late changes nothing',
  'lease: concurrent copies acquire exactly once',
  'ingest: a replayed token writes nothing',
  'ingest: a message records the window, relinks the Page and takes the lease',
  'ingest: a status applies its effect, dedupes, and unlinks only a linked Page when asked',
  'ingest: concurrent copies of one webhook are delivered by exactly one',
  'readForSend, when present, returns what getPage and get return',
  'takeToken allows a burst, then refuses with retryAfterMs, then refills',
  'takeToken buckets are independent and concurrent takes never exceed the burst',
  'recordAdReferral keeps the latest ad message and get returns it',
  'recordAdReferral does nothing for an unknown conversation',
  'later user messages never move adReferralAt, and delete forgets it',
  'setTagAvailability stores a refused tag per Page with its details',
  'setTagAvailability ignores an older change and drops the details when available again',
  'values round-trip exactly: odd uuids and details, big timestamps',
  'returned states are copies, not live views',
  'bad input is refused with ValidationError and stores nothing',
  'listByLastInbound lists open conversations within (from, to] in (lastInboundAt, key) order',
  'listByLastInbound returns at most limit entries, the first in order',
  'listByLastInbound pages with after, losing and repeating nothing under concurrent writes',
  'listByLastInbound: a newer message moves a conversation later, an older one does not',
  'listByLastInbound: markClosed hides a conversation until the user writes again',
  'listByLastInbound: ingest lists a message and hides a conversation a status closed',
  'listByLastInbound: delete removes the conversation',
  'listByLastInbound: an expired conversation is no longer listed',
  'listByLastInbound filters by pageId, and lists every Page without one',
] as const;

/** One conformance test name. */
export type SessionStoreTestName = (typeof SESSION_STORE_TESTS)[number];

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;
// Longer than a store that remembers message ids for a second would keep them; a real retry
// comes after about 5 s at the earliest (docs/webhooks.md).
const RETRY_GAP_MS = 1500;

let counter = 0;
/** A fresh numeric ID: random, plus a counter so two calls in one millisecond never collide. */
function freshId(): string {
  counter = (counter + 1) % 1000;
  return `${1 + Math.floor(Math.random() * 8)}${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}${String(counter).padStart(3, '0')}`;
}
const freshPage = (): PageId => pageId(freshId());
const freshKey = (page: PageId = freshPage()): ConversationKey => conversationKey(page, psid(freshId()));
const freshUuid = (): string => `${freshId()}-${Math.random().toString(36).slice(2)}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const CONFORMANCE_OPTIONS: Readonly<Record<keyof ConformanceOptions, true>> = {
  skip: true,
  lacks: true,
  ttlMs: true,
  shortTtlMs: true,
};

/** A misspelt option or capability would silently test less: refused before any test is defined. */
function checkConformanceOptions(options: ConformanceOptions): void {
  const fail = (message: string): never => {
    throw new Error(`describeSessionStore: ${message}`);
  };
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  const unknown = unknownOptions(options, CONFORMANCE_OPTIONS, 'describeSessionStore');
  if (unknown !== undefined) throw new Error(unknown.message);
  for (const name of ['ttlMs', 'shortTtlMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      fail(`${name} must be a positive integer number of milliseconds`);
    }
  }
  for (const group of options.lacks ?? []) {
    for (const capability of group.capabilities) {
      if (!(OPTIONAL_CAPABILITIES as readonly string[]).includes(capability)) {
        fail(`no optional capability "${capability}" (see OPTIONAL_CAPABILITIES)`);
      }
    }
  }
}

/** Shuffles in place (Fisher–Yates) so events reach the store out of order. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Registers the conformance suite for a {@link SessionStore}. `factory` is called before each
 * test (return a fresh store, or a new handle on a shared backend); `close()` is called after.
 *
 * The rules it checks are the `SessionStore` contract (docs/stores.md): monotonic
 * `lastInboundAt`, exactly-once `message_uuid`, close markers that hold until a newer inbound
 * message, Page link changes where only later changes win, one-time claims with a ttl,
 * `delete`, expiry after `ttlMs`, isolation between Pages and PSIDs, atomicity under
 * concurrency, the optional `takeToken`, and exact round-trips.
 *
 * @example
 * ```ts
 * // Your store's factory in place of memoryStore; skipping a test: docs/testing.md
 * describeSessionStore('memoryStore', () => memoryStore())
 * ```
 */
export function describeSessionStore(
  name: string,
  factory: () => SessionStore | Promise<SessionStore>,
  options: ConformanceOptions = {},
): void {
  checkConformanceOptions(options);
  const ttlMs = options.ttlMs ?? DEFAULT_STORE_TTL_MS;
  const shortTtlMs = options.shortTtlMs ?? 40;
  const skipped = new Map<string, string>();
  for (const group of options.skip ?? []) {
    if (typeof group.reason !== 'string' || group.reason.trim() === '') {
      throw new Error('describeSessionStore: every skip needs a written reason');
    }
    for (const test of group.tests) {
      if (!(SESSION_STORE_TESTS as readonly string[]).includes(test)) {
        throw new Error(`describeSessionStore: no test named "${test}" to skip (see SESSION_STORE_TESTS)`);
      }
      skipped.set(test, group.reason);
    }
  }
  const lacking = new Map<OptionalCapability, string>();
  for (const group of options.lacks ?? []) {
    if (typeof group.reason !== 'string' || group.reason.trim() === '') {
      throw new Error('describeSessionStore: every declared absence needs a written reason');
    }
    for (const capability of group.capabilities) lacking.set(capability, group.reason);
  }

  describe(`SessionStore conformance: ${name}`, () => {
    let store: SessionStore;
    beforeEach(async () => {
      // As the SDK runs it: createMessenger checks every call's arguments (checkedStore).
      store = checkedStore(await factory());
    });
    afterEach(async () => {
      await store?.close();
    });

    // Generous: the concurrency tests send hundreds of operations to a possibly remote backend.
    const test = (title: SessionStoreTestName, body: (ctx: TestContext) => Promise<void>) => {
      const reason = skipped.get(title);
      if (reason === undefined) it(title, body, 60_000);
      else it(`${title} (skipped: ${reason})`, (ctx) => ctx.skip(reason));
    };
    /**
     * A test of optional capabilities: run when the store has them all, skipped with the reason
     * when it has none, failed when it has only some. Declared absent (`lacks`): checks absence.
     */
    const capabilityTest = (
      title: SessionStoreTestName,
      capabilities: readonly OptionalCapability[],
      body: () => Promise<void>,
    ) => {
      const declared = capabilities.map((c) => lacking.get(c)).find((r) => r !== undefined);
      if (declared !== undefined && !skipped.has(title)) {
        it(`${title} (absent by design: ${declared})`, () => {
          for (const c of capabilities) expect(store[c], `${c} is declared absent`).toBeUndefined();
        });
        return;
      }
      test(title, async (ctx) => {
        const missing = capabilities.filter((c) => store[c] === undefined);
        if (missing.length === capabilities.length) {
          const reason = `the store has no ${missing.join(' or ')} (optional capability)`;
          Object.assign(ctx.task.meta, { skipReason: reason });
          ctx.skip(reason);
        }
        expect(missing, `${capabilities.join(' and ')} come together`).toEqual([]);
        await body();
      });
    };
    const now = () => Date.now();
    /** An optional method of the store, bound; capabilityTest has checked that it is there. */
    const capability = <K extends OptionalCapability>(name: K): NonNullable<SessionStore[K]> => {
      const method = store[name];
      if (method === undefined) throw new Error(`the store has no ${name}`);
      return (method as (...args: never[]) => unknown).bind(store) as NonNullable<SessionStore[K]>;
    };

    describe('inbound messages', () => {
      test('get returns null for a conversation never recorded', async () => {
        expect(await store.get(freshKey())).toBeNull();
      });

      test('records the first inbound message and returns its state', async () => {
        const key = freshKey();
        const at = now() - 1000;
        const result = await store.recordInbound(key, at, 'm-1');
        expect(result).toEqual({ duplicate: false, state: { lastInboundAt: at, lastInboundUuid: 'm-1' } });
        expect(await store.get(key)).toEqual({ lastInboundAt: at, lastInboundUuid: 'm-1' });
      });

      test('keeps the latest inbound time when events arrive out of order', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t + 3000, 'late');
        const older = await store.recordInbound(key, t + 1000, 'early');
        expect(older.duplicate).toBe(false);
        expect(older.state).toEqual({ lastInboundAt: t + 3000, lastInboundUuid: 'late' });
        await store.recordInbound(key, t + 2000, 'middle');
        expect(await store.get(key)).toEqual({ lastInboundAt: t + 3000, lastInboundUuid: 'late' });
        const newer = await store.recordInbound(key, t + 4000, 'latest');
        expect(newer.state).toEqual({ lastInboundAt: t + 4000, lastInboundUuid: 'latest' });
      });

      test('keeps the uuid of the earlier-recorded message when two share a timestamp', async () => {
        const key = freshKey();
        const at = now() - 5000;
        await store.recordInbound(key, at, 'first');
        const second = await store.recordInbound(key, at, 'second');
        expect(second).toEqual({ duplicate: false, state: { lastInboundAt: at, lastInboundUuid: 'first' } });
      });

      test('reports a repeated message_uuid as a duplicate and changes nothing', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t, 'm-1');
        await store.recordInbound(key, t + 1000, 'm-2');
        // Replayed with a later time (a retried webhook must never move the window).
        const replay = await store.recordInbound(key, t + 5000, 'm-1');
        expect(replay).toEqual({ duplicate: true, state: { lastInboundAt: t + 1000, lastInboundUuid: 'm-2' } });
        const again = await store.recordInbound(key, t + 1000, 'm-2');
        expect(again.duplicate).toBe(true);
        expect(await store.get(key)).toEqual({ lastInboundAt: t + 1000, lastInboundUuid: 'm-2' });
      });

      test('dedupes per conversation: the same uuid in another conversation is new', async () => {
        const a = freshKey();
        const b = freshKey();
        const at = now() - 1000;
        expect((await store.recordInbound(a, at, 'shared')).duplicate).toBe(false);
        expect((await store.recordInbound(b, at, 'shared')).duplicate).toBe(false);
        expect((await store.recordInbound(b, at, 'shared')).duplicate).toBe(true);
      });
    });

    describe('outbound and close markers', () => {
      test('recordOutbound keeps the latest send time and never extends the window', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t, 'm-1');
        await store.recordOutbound(key, t + 2000);
        await store.recordOutbound(key, t + 1000);
        expect(await store.get(key)).toEqual({ lastInboundAt: t, lastInboundUuid: 'm-1', lastOutboundAt: t + 2000 });
        await store.recordOutbound(key, t + 3000);
        expect((await store.get(key))?.lastOutboundAt).toBe(t + 3000);
        expect((await store.get(key))?.lastInboundAt).toBe(t);
      });

      test('recordOutbound does nothing for an unknown conversation', async () => {
        const key = freshKey();
        await store.recordOutbound(key, now());
        expect(await store.get(key)).toBeNull();
      });

      test('markClosed records closed_by_platform until a newer inbound message', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t, 'm-1');
        await store.markClosed(key, t + 1000, 'closed_by_platform');
        expect(await store.get(key)).toEqual({
          lastInboundAt: t,
          lastInboundUuid: 'm-1',
          closedAt: t + 1000,
          closedReason: 'closed_by_platform',
        });
        // A message the user sent before the close (delivered late) does not reopen it.
        const late = await store.recordInbound(key, t + 500, 'm-0');
        expect(late.state).toMatchObject({ lastInboundAt: t + 500, closedAt: t + 1000 });
        expect(late.state.lastInboundAt).toBeLessThan(late.state.closedAt ?? 0);
        // The user writes again after the close: open (lastInboundAt > closedAt).
        const reopened = await store.recordInbound(key, t + 2000, 'm-2');
        expect(reopened.state.lastInboundAt).toBe(t + 2000);
        expect(reopened.state.closedAt).toBe(t + 1000);
        const state = await store.get(key);
        expect(state !== null && state.lastInboundAt > (state.closedAt ?? 0)).toBe(true);
      });

      test('markClosed records user_unavailable', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t, 'm-1');
        await store.markClosed(key, t + 1, 'user_unavailable');
        expect(await store.get(key)).toMatchObject({ closedAt: t + 1, closedReason: 'user_unavailable' });
      });

      test('markClosed ignores an older close and lets an equal or later one win', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t, 'm-1');
        await store.markClosed(key, t + 2000, 'user_unavailable');
        await store.markClosed(key, t + 1000, 'closed_by_platform');
        expect(await store.get(key)).toMatchObject({ closedAt: t + 2000, closedReason: 'user_unavailable' });
        await store.markClosed(key, t + 2000, 'closed_by_platform');
        expect(await store.get(key)).toMatchObject({ closedAt: t + 2000, closedReason: 'closed_by_platform' });
        await store.markClosed(key, t + 3000, 'user_unavailable');
        expect(await store.get(key)).toMatchObject({ closedAt: t + 3000, closedReason: 'user_unavailable' });
      });

      test('markClosed does nothing for an unknown conversation', async () => {
        const key = freshKey();
        await store.markClosed(key, now(), 'closed_by_platform');
        expect(await store.get(key)).toBeNull();
      });
    });

    describe('Page link state', () => {
      test('getPage returns null for a Page never recorded', async () => {
        expect(await store.getPage(freshPage())).toBeNull();
      });

      test('setPageLinked stores an unlinked Page with its error details', async () => {
        const page = freshPage();
        const at = now();
        await store.setPageLinked(page, false, at, { errorCode: '1370', errorDetail: 'Page token expired' });
        expect(await store.getPage(page)).toEqual({
          linked: false,
          changedAt: at,
          errorCode: '1370',
          errorDetail: 'Page token expired',
        });
      });

      test('setPageLinked ignores an older change that arrives late', async () => {
        const page = freshPage();
        const t = now() - HOUR;
        await store.setPageLinked(page, false, t + 2000, { errorCode: '1420' });
        await store.setPageLinked(page, true, t + 1000);
        expect(await store.getPage(page)).toEqual({ linked: false, changedAt: t + 2000, errorCode: '1420' });
        await store.setPageLinked(page, true, t + 2000);
        expect(await store.getPage(page)).toEqual({ linked: true, changedAt: t + 2000 });
        await store.setPageLinked(page, false, t + 1500, { errorCode: '1370' });
        expect(await store.getPage(page)).toEqual({ linked: true, changedAt: t + 2000 });
      });

      test('setPageLinked to linked drops the error details', async () => {
        const page = freshPage();
        const t = now() - HOUR;
        await store.setPageLinked(page, false, t, { errorCode: '1370', errorDetail: 'expired' });
        await store.setPageLinked(page, true, t + 1, { errorCode: 'ignored', errorDetail: 'ignored' });
        expect(await store.getPage(page)).toEqual({ linked: true, changedAt: t + 1 });
      });
    });

    describe('claims', () => {
      test('claim is true once per id', async () => {
        const id = `jti-${freshUuid()}`;
        expect(await store.claim(id, 60_000)).toBe(true);
        expect(await store.claim(id, 60_000)).toBe(false);
        expect(await store.claim(id, 60_000)).toBe(false);
        expect(await store.claim(`${id}-other`, 60_000)).toBe(true);
      });

      test('claim is true again after its ttl', async () => {
        const id = `jti-${freshUuid()}`;
        expect(await store.claim(id, shortTtlMs)).toBe(true);
        expect(await store.claim(id, shortTtlMs)).toBe(false);
        await sleep(3 * shortTtlMs);
        expect(await store.claim(id, 60_000)).toBe(true);
        expect(await store.claim(id, 60_000)).toBe(false);
      });

      test('claim ids do not collide with message ids', async () => {
        const key = freshKey();
        const uuid = freshUuid();
        expect(await store.claim(uuid, 60_000)).toBe(true);
        expect((await store.recordInbound(key, now(), uuid)).duplicate).toBe(false);
        expect(await store.claim(`${key}:${uuid}`, 60_000)).toBe(true);
      });
    });

    describe('delete and expiry', () => {
      test('delete forgets the conversation and its message ids', async () => {
        const key = freshKey();
        const t = now() - HOUR;
        await store.recordInbound(key, t, 'm-1');
        await store.markClosed(key, t + 1, 'user_unavailable');
        await store.delete(key);
        expect(await store.get(key)).toBeNull();
        // Deletion is complete: nothing tied to the conversation survives, so the same message
        // recorded again starts a fresh conversation instead of reading as a duplicate.
        const again = await store.recordInbound(key, t, 'm-1');
        expect(again).toEqual({ duplicate: false, state: { lastInboundAt: t, lastInboundUuid: 'm-1' } });
      });

      test('delete leaves other conversations and unknown keys alone', async () => {
        const page = freshPage();
        const a = freshKey(page);
        const b = freshKey(page);
        const at = now() - 1000;
        await store.recordInbound(a, at, 'a-1');
        await store.recordInbound(b, at, 'b-1');
        await store.delete(a);
        await store.delete(freshKey());
        expect(await store.get(b)).toEqual({ lastInboundAt: at, lastInboundUuid: 'b-1' });
        expect((await store.recordInbound(b, at, 'b-1')).duplicate).toBe(true);
      });

      test('a message older than the ttl is not kept', async () => {
        const key = freshKey();
        const old = now() - ttlMs - HOUR;
        const result = await store.recordInbound(key, old, 'ancient');
        expect(result).toEqual({ duplicate: false, state: { lastInboundAt: old, lastInboundUuid: 'ancient' } });
        expect(await store.get(key)).toBeNull();
        // A live message afterwards starts the conversation normally.
        const fresh = now() - 1000;
        expect((await store.recordInbound(key, fresh, 'recent')).state).toEqual({
          lastInboundAt: fresh,
          lastInboundUuid: 'recent',
        });
        expect(await store.get(key)).toEqual({ lastInboundAt: fresh, lastInboundUuid: 'recent' });
      });

      test('a conversation is kept until ttlMs after its last message, and not longer', async () => {
        // A minute either side of the boundary: a store whose lifetime is off by more (hours
        // short, a day long) fails here; exact-millisecond bounds need the store's own clock.
        const [kept, gone] = [freshKey(), freshKey()];
        const t = now();
        await store.recordInbound(kept, t - ttlMs + MINUTE, 'kept');
        await store.recordInbound(gone, t - ttlMs - MINUTE, 'gone');
        expect(await store.get(kept)).toEqual({ lastInboundAt: t - ttlMs + MINUTE, lastInboundUuid: 'kept' });
        expect(await store.get(gone)).toBeNull();
      });

      test('a message id is remembered across a retry: seconds later, and for a message a day old', async () => {
        const key = freshKey();
        const old = now() - 23 * HOUR; // Vonage retries a webhook for 24 hours
        await store.recordInbound(key, old, 'late');
        expect((await store.recordInbound(key, old, 'late')).duplicate).toBe(true);
        const t = now() - 1000;
        await store.recordInbound(key, t, 'retried');
        await sleep(RETRY_GAP_MS);
        expect((await store.recordInbound(key, t, 'retried')).duplicate).toBe(true);
        expect((await store.recordInbound(key, now(), 'late')).duplicate).toBe(true);
      });

      test('recordOutbound and markClosed ignore an expired conversation', async () => {
        const key = freshKey();
        const old = now() - ttlMs - HOUR;
        await store.recordInbound(key, old, 'ancient');
        await store.recordOutbound(key, now());
        await store.markClosed(key, now(), 'closed_by_platform');
        expect(await store.get(key)).toBeNull();
      });
    });

    describe('isolation', () => {
      test('the same PSID on two Pages is two conversations', async () => {
        const user = psid(freshId());
        const a = conversationKey(freshPage(), user);
        const b = conversationKey(freshPage(), user);
        const t = now() - HOUR;
        await store.recordInbound(a, t, 'a-1');
        await store.recordInbound(b, t + 1000, 'b-1');
        await store.markClosed(a, t + 10, 'closed_by_platform');
        await store.recordOutbound(b, t + 2000);
        expect(await store.get(a)).toEqual({
          lastInboundAt: t,
          lastInboundUuid: 'a-1',
          closedAt: t + 10,
          closedReason: 'closed_by_platform',
        });
        expect(await store.get(b)).toEqual({
          lastInboundAt: t + 1000,
          lastInboundUuid: 'b-1',
          lastOutboundAt: t + 2000,
        });
        await store.delete(a);
        expect(await store.get(b)).not.toBeNull();
      });

      test('two PSIDs on one Page are two conversations', async () => {
        const page = freshPage();
        const a = freshKey(page);
        const b = freshKey(page);
        const t = now() - HOUR;
        await store.recordInbound(a, t + 5000, 'a-1');
        await store.recordInbound(b, t, 'b-1');
        await store.markClosed(b, t + 1, 'user_unavailable');
        expect(await store.get(a)).toEqual({ lastInboundAt: t + 5000, lastInboundUuid: 'a-1' });
        expect(await store.get(b)).toMatchObject({ lastInboundAt: t, closedReason: 'user_unavailable' });
      });

      test('Page link state is per Page', async () => {
        const a = freshPage();
        const b = freshPage();
        const at = now();
        await store.setPageLinked(a, false, at, { errorCode: '1370' });
        expect(await store.getPage(b)).toBeNull();
        await store.setPageLinked(b, true, at);
        expect(await store.getPage(a)).toEqual({ linked: false, changedAt: at, errorCode: '1370' });
      });
    });

    describe('concurrency', () => {
      test('hundreds of concurrent recordInbound on one key keep the max and count each message once', async () => {
        const key = freshKey();
        const base = now() - HOUR;
        const events = Array.from({ length: 300 }, (_, i) => ({
          at: base + Math.floor(Math.random() * 1_000_000),
          uuid: `m-${i}`,
        }));
        const latest = events.reduce((max, e) => (e.at > max.at ? e : max));
        // Every message is delivered twice (a webhook retry), all at once, in random order.
        const results = await Promise.all(
          shuffle([...events, ...events]).map((e) => store.recordInbound(key, e.at, e.uuid)),
        );
        expect(results.filter((r) => !r.duplicate)).toHaveLength(events.length);
        const state = await store.get(key);
        expect(state?.lastInboundAt).toBe(latest.at);
        const winners = events.filter((e) => e.at === latest.at).map((e) => e.uuid);
        expect(winners).toContain(state?.lastInboundUuid);
        for (const r of results) expect(r.state.lastInboundAt).toBeLessThanOrEqual(latest.at);
      });

      test('the same message_uuid raced concurrently is new for exactly one call', async () => {
        const key = freshKey();
        const at = now() - 1000;
        const results = await Promise.all(Array.from({ length: 200 }, () => store.recordInbound(key, at, 'raced')));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        for (const r of results) expect(r.state).toEqual({ lastInboundAt: at, lastInboundUuid: 'raced' });
      });

      test('concurrent claims of one id succeed exactly once', async () => {
        const id = `status-${freshUuid()}`;
        const results = await Promise.all(Array.from({ length: 200 }, () => store.claim(id, 60_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('delivery lease', () => {
      const freshEvent = () => `{${freshPage()}}:inbound:${freshUuid()}`;

      test('lease: the first copy acquires, a copy during the lease is held with retryAfterMs', async () => {
        const id = freshEvent();
        const t = now();
        expect(await store.lease(id, 60_000, t)).toEqual({ state: 'acquired', attempt: 1, retryAfterMs: 0 });
        expect(await store.lease(id, 60_000, t + 1000)).toEqual({ state: 'held', attempt: 1, retryAfterMs: 59_000 });
        expect(await store.lease(`${id}-other`, 60_000, t)).toMatchObject({ state: 'acquired', attempt: 1 });
      });

      test('lease: after a successful settle every copy is done', async () => {
        const id = freshEvent();
        const t = now();
        await store.lease(id, 60_000, t);
        await store.settle(id, 1, true, t + 300);
        expect(await store.lease(id, 60_000, t + 400)).toEqual({ state: 'done', attempt: 1, retryAfterMs: 0 });
        // Long after the lease would have expired, still done (kept as long as message ids).
        expect((await store.lease(id, 60_000, t + 3_600_000)).state).toBe('done');
        // A late failure report of the same attempt does not undo the success.
        await store.settle(id, 1, false, t + 500);
        expect((await store.lease(id, 60_000, t + 600)).state).toBe('done');
      });

      test('lease: after a failed settle the next copy acquires the next attempt', async () => {
        const id = freshEvent();
        const t = now();
        await store.lease(id, 60_000, t);
        await store.settle(id, 1, false, t + 300);
        expect(await store.lease(id, 60_000, t + 400)).toEqual({ state: 'acquired', attempt: 2, retryAfterMs: 0 });
        expect((await store.lease(id, 60_000, t + 500)).state).toBe('held');
        await store.settle(id, 2, true, t + 600);
        expect(await store.lease(id, 60_000, t + 700)).toEqual({ state: 'done', attempt: 2, retryAfterMs: 0 });
      });

      test('lease: an expired lease is taken over; the old attempt failing late changes nothing', async () => {
        const id = freshEvent();
        const t = now();
        await store.lease(id, 1000, t);
        expect((await store.lease(id, 1000, t + 999)).state).toBe('held');
        expect(await store.lease(id, 1000, t + 1000)).toEqual({ state: 'acquired', attempt: 2, retryAfterMs: 0 });
        // Attempt 1 (its process hung past the lease) reports a failure: attempt 2 still holds it.
        await store.settle(id, 1, false, t + 1100);
        expect(await store.lease(id, 1000, t + 1200)).toEqual({ state: 'held', attempt: 2, retryAfterMs: 800 });
        // The old attempt succeeding late does count: the event was delivered.
        await store.settle(id, 1, true, t + 1300);
        expect((await store.lease(id, 1000, t + 1400)).state).toBe('done');
      });

      test('lease: concurrent copies acquire exactly once', async () => {
        const id = freshEvent();
        const t = now();
        const results = await Promise.all(Array.from({ length: 100 }, () => store.lease(id, 60_000, t)));
        expect(results.filter((r) => r.state === 'acquired')).toHaveLength(1);
        for (const r of results.filter((x) => x.state !== 'acquired')) {
          expect(r).toEqual({ state: 'held', attempt: 1, retryAfterMs: 60_000 });
        }
      });
    });

    describe('ingest (native or composed by the SDK)', () => {
      const messageInput = (page: PageId, at: number, uuid: string): IngestInput => {
        const key = conversationKey(page, psid(freshId()));
        return {
          now: now(),
          replay: { id: `{${page}}jti:${freshUuid()}`, ttlMs: 600_000 },
          message: { key, pageId: page, at, messageUuid: uuid },
          lease: { id: `{${page}}:inbound:${key}:${uuid}`, ttlMs: 60_000 },
        };
      };

      test('ingest: a replayed token writes nothing', async () => {
        const page = freshPage();
        const input = messageInput(page, now() - 1000, freshUuid());
        const first = await ingestWith(store, input);
        expect(first.replayed).toBe(false);
        const other = {
          ...input,
          message: { ...(input.message as NonNullable<IngestInput['message']>), key: freshKey(page) },
        };
        expect(await ingestWith(store, other)).toEqual({ replayed: true, duplicate: false, applied: false });
        expect(await store.get(other.message.key)).toBeNull();
      });

      test('ingest: a message records the window, relinks the Page and takes the lease', async () => {
        const page = freshPage();
        const t = now();
        await store.setPageLinked(page, false, t - 5000, { errorCode: '1370' });
        const input = messageInput(page, t - 1000, freshUuid());
        const message = input.message as NonNullable<IngestInput['message']>;
        const result = await ingestWith(store, input);
        expect(result).toMatchObject({ replayed: false, duplicate: false });
        expect(result.state).toEqual({ lastInboundAt: t - 1000, lastInboundUuid: message.messageUuid });
        expect(result.lease).toEqual({ state: 'acquired', attempt: 1, retryAfterMs: 0 });
        expect(await store.get(message.key)).toEqual(result.state);
        expect(await store.getPage(page)).toEqual({ linked: true, changedAt: t - 1000 });
        // A copy with a fresh token: a duplicate, and the lease is held.
        const copy = await ingestWith(store, {
          ...input,
          replay: { id: `{${page}}jti:${freshUuid()}`, ttlMs: 600_000 },
        });
        expect(copy).toMatchObject({ replayed: false, duplicate: true, lease: { state: 'held', attempt: 1 } });
        // An older message never undoes a newer unlink.
        await store.setPageLinked(page, false, t, { errorCode: '1370' });
        await ingestWith(store, messageInput(page, t - 2000, freshUuid()));
        expect((await store.getPage(page))?.linked).toBe(false);
      });

      test('ingest: a status applies its effect, dedupes, and unlinks only a linked Page when asked', async () => {
        const page = freshPage();
        const key = freshKey(page);
        const t = now();
        await store.recordInbound(key, t - 10_000, freshUuid());
        const statusInput = (effect: NonNullable<IngestInput['status']>['effect'], dedupe: string): IngestInput => ({
          now: t,
          replay: { id: `{${page}}jti:${freshUuid()}`, ttlMs: 600_000 },
          status: { key, pageId: page, at: t - 1000, effect, dedupe: { id: dedupe, ttlMs: 600_000 } },
        });
        const closeId = `{${page}}:status:${freshUuid()}:rejected`;
        const closed = await ingestWith(store, statusInput({ kind: 'close', reason: 'closed_by_platform' }, closeId));
        expect(closed).toMatchObject({ replayed: false, duplicate: false, applied: true });
        expect(await store.get(key)).toMatchObject({ closedAt: t - 1000, closedReason: 'closed_by_platform' });
        const again = await ingestWith(store, statusInput({ kind: 'close', reason: 'closed_by_platform' }, closeId));
        expect(again.duplicate).toBe(true);
        // 1420 unlinks a Page only when it is known linked.
        const details = { errorCode: '1420', errorDetail: 'Invalid sender' };
        const unknown = await ingestWith(
          store,
          statusInput({ kind: 'unlink', ifLinked: true, details }, `{${page}}:status:${freshUuid()}:rejected`),
        );
        expect(unknown.applied).toBe(false);
        expect(await store.getPage(page)).toBeNull();
        await store.setPageLinked(page, true, t - 5000);
        const linked = await ingestWith(
          store,
          statusInput({ kind: 'unlink', ifLinked: true, details }, `{${page}}:status:${freshUuid()}:rejected`),
        );
        expect(linked.applied).toBe(true);
        expect(await store.getPage(page)).toEqual({ linked: false, changedAt: t - 1000, ...details });
      });

      test('ingest: concurrent copies of one webhook are delivered by exactly one', async () => {
        const page = freshPage();
        const input = messageInput(page, now() - 1000, freshUuid());
        const copies = Array.from({ length: 30 }, () => ({
          ...input,
          replay: { id: `{${page}}jti:${freshUuid()}`, ttlMs: 600_000 },
        }));
        const results = await Promise.all(copies.map((c) => ingestWith(store, c)));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(results.filter((r) => r.lease?.state === 'acquired')).toHaveLength(1);
        expect(results.filter((r) => r.lease?.state === 'held')).toHaveLength(29);
      });
    });

    describe('readForSend (optional capability)', () => {
      capabilityTest('readForSend, when present, returns what getPage and get return', ['readForSend'], async () => {
        const read = capability('readForSend');
        const page = freshPage();
        const key = freshKey(page);
        expect(await read(page, key)).toEqual({ page: null, conversation: null });
        const t = now();
        await store.recordInbound(key, t - 1000, 'm-1');
        await store.markClosed(key, t - 500, 'user_unavailable');
        await store.setPageLinked(page, false, t - 100, { errorCode: '1370', errorDetail: 'expired ✓' });
        expect(await read(page, key)).toEqual({ page: await store.getPage(page), conversation: await store.get(key) });
        expect(await read(page, freshKey(page))).toEqual({ page: await store.getPage(page), conversation: null });
      });
    });

    describe('takeToken (optional capability)', () => {
      // A store without takeToken is valid: the SDK then limits sends per process. These tests
      // check the capability when the store offers it, and that it is absent, not half-there.
      capabilityTest(
        'takeToken allows a burst, then refuses with retryAfterMs, then refills',
        ['takeToken'],
        async () => {
          const take = capability('takeToken');
          const bucket = `page-${freshId()}`;
          const t = now();
          for (let i = 0; i < 3; i++) expect(await take(bucket, 2, 3, t)).toEqual({ allowed: true, retryAfterMs: 0 });
          const refused = await take(bucket, 2, 3, t);
          expect(refused.allowed).toBe(false);
          expect(refused.retryAfterMs).toBeGreaterThan(0);
          expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
          // A caller whose clock is behind never gets tokens from the past.
          expect((await take(bucket, 2, 3, t - 10_000)).allowed).toBe(false);
          expect((await take(bucket, 2, 3, t + 500)).allowed).toBe(true);
          expect((await take(bucket, 2, 3, t + 500)).allowed).toBe(false);
          // After a long pause the bucket is full again, but never above its burst.
          const later = t + 60_000;
          const afterPause = await Promise.all([0, 1, 2, 3].map(() => take(bucket, 2, 3, later)));
          expect(afterPause.filter((d) => d.allowed)).toHaveLength(3);
        },
      );

      capabilityTest(
        'takeToken buckets are independent and concurrent takes never exceed the burst',
        ['takeToken'],
        async () => {
          const take = capability('takeToken');
          const a = `page-${freshId()}`;
          const b = `page-${freshId()}`;
          const t = now();
          const results = await Promise.all(Array.from({ length: 50 }, () => take(a, 1, 5, t)));
          expect(results.filter((d) => d.allowed)).toHaveLength(5);
          for (const d of results.filter((r) => !r.allowed)) expect(d.retryAfterMs).toBeGreaterThan(0);
          expect((await take(b, 1, 5, t)).allowed).toBe(true);
        },
      );
    });

    describe('ad referrals and tag availability (optional capabilities)', () => {
      // Optional in the type, like takeToken: a store without them is valid (the SDK then
      // refuses recordAdReferral and keeps offering every tag). Absent means absent, not half-there.
      const TAGS = ['setTagAvailability', 'getTagAvailability'] as const;
      const tags = () => ({ set: capability('setTagAvailability'), get: capability('getTagAvailability') });

      capabilityTest(
        'recordAdReferral keeps the latest ad message and get returns it',
        ['recordAdReferral'],
        async () => {
          const record = capability('recordAdReferral');
          const key = freshKey();
          const t = now() - HOUR;
          await store.recordInbound(key, t + 2000, 'm-1');
          await record(key, t + 2000);
          expect(await store.get(key)).toEqual({
            lastInboundAt: t + 2000,
            lastInboundUuid: 'm-1',
            adReferralAt: t + 2000,
          });
          await record(key, t + 1000);
          expect((await store.get(key))?.adReferralAt).toBe(t + 2000);
          await record(key, t + 3000);
          expect((await store.get(key))?.adReferralAt).toBe(t + 3000);
          await store.markClosed(key, t + 4000, 'closed_by_platform');
          expect(await store.get(key)).toEqual({
            lastInboundAt: t + 2000,
            lastInboundUuid: 'm-1',
            adReferralAt: t + 3000,
            closedAt: t + 4000,
            closedReason: 'closed_by_platform',
          });
        },
      );

      capabilityTest('recordAdReferral does nothing for an unknown conversation', ['recordAdReferral'], async () => {
        const record = capability('recordAdReferral');
        const key = freshKey();
        await record(key, now() - 1000);
        expect(await store.get(key)).toBeNull();
        const old = freshKey();
        const t = now() - ttlMs - HOUR;
        await store.recordInbound(old, t, 'm-old');
        await record(old, t);
        expect(await store.get(old)).toBeNull();
      });

      capabilityTest(
        'later user messages never move adReferralAt, and delete forgets it',
        ['recordAdReferral'],
        async () => {
          const record = capability('recordAdReferral');
          const key = freshKey();
          const t = now() - HOUR;
          await store.recordInbound(key, t, 'from-ad');
          await record(key, t);
          const later = await store.recordInbound(key, t + 5000, 'm-2');
          expect(later.duplicate).toBe(false);
          expect(await store.get(key)).toEqual({ lastInboundAt: t + 5000, lastInboundUuid: 'm-2', adReferralAt: t });
          await store.delete(key);
          expect(await store.get(key)).toBeNull();
          await store.recordInbound(key, t + 6000, 'm-3');
          expect(await store.get(key)).toEqual({ lastInboundAt: t + 6000, lastInboundUuid: 'm-3' });
        },
      );

      capabilityTest('setTagAvailability stores a refused tag per Page with its details', TAGS, async () => {
        const t = tags();
        const page = freshPage();
        const other = freshPage();
        expect(await t.get(page)).toEqual({});
        const at = now() - 1000;
        await t.set(page, 'HUMAN_AGENT', false, at, { errorCode: '1021', errorDetail: 'Invalid tag' });
        await t.set(page, '__proto__', false, at);
        const read = await t.get(page);
        expect(Object.keys(read).sort()).toEqual(['HUMAN_AGENT', '__proto__']);
        expect(read.HUMAN_AGENT).toEqual({
          available: false,
          changedAt: at,
          errorCode: '1021',
          errorDetail: 'Invalid tag',
        });
        expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
        expect(await t.get(other)).toEqual({});
        // A copy, not a live view.
        (read.HUMAN_AGENT as { available: boolean }).available = true;
        expect((await t.get(page)).HUMAN_AGENT?.available).toBe(false);
      });

      capabilityTest(
        'setTagAvailability ignores an older change and drops the details when available again',
        TAGS,
        async () => {
          const t = tags();
          const page = freshPage();
          const at = now() - 1000;
          await t.set(page, 'HUMAN_AGENT', false, at, { errorCode: '1021', errorDetail: 'Invalid tag' });
          await t.set(page, 'HUMAN_AGENT', true, at - 1);
          expect((await t.get(page)).HUMAN_AGENT?.available).toBe(false);
          await t.set(page, 'HUMAN_AGENT', true, at + 1);
          expect(await t.get(page)).toEqual({ HUMAN_AGENT: { available: true, changedAt: at + 1 } });
        },
      );
    });

    describe('listByLastInbound (optional capability)', () => {
      // A store without it is valid (messenger.expiringSoon then refuses). Other runs may share
      // the backend, so a test that lists every Page keeps only its own keys, and times start
      // at a random offset.
      type List = (range: InboundRange) => Promise<InboundEntry[]>;
      const listTest = (title: SessionStoreTestName, body: (list: List) => Promise<void>) =>
        capabilityTest(title, ['listByLastInbound'], () => body(capability('listByLastInbound')));
      /** A time base an hour or two ago, random to the millisecond. */
      const freshBase = () => now() - HOUR - Math.floor(Math.random() * HOUR);
      /** What the store should list for `entries`, in order, each state read back with get(). */
      const expected = async (entries: { at: number; key: ConversationKey }[]) =>
        Promise.all(
          [...entries]
            .sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
            .map(async (e) => ({ key: e.key, state: await store.get(e.key) })),
        );
      const keysOf = (entries: InboundEntry[]) => entries.map((e) => e.key);
      const expectStrictlyOrdered = (entries: InboundEntry[]) => {
        for (let i = 1; i < entries.length; i++) {
          const a = entries[i - 1] as InboundEntry;
          const b = entries[i] as InboundEntry;
          const before =
            a.state.lastInboundAt < b.state.lastInboundAt ||
            (a.state.lastInboundAt === b.state.lastInboundAt && a.key < b.key);
          expect(before, `${a.key}@${a.state.lastInboundAt} before ${b.key}@${b.state.lastInboundAt}`).toBe(true);
        }
      };

      listTest(
        'listByLastInbound lists open conversations within (from, to] in (lastInboundAt, key) order',
        async (list) => {
          const page = freshPage();
          const base = freshBase();
          // Two share a time (the key decides), one sits on each bound, one just past `to`.
          const offsets = [10, 20, 20, 30, 0, 40, 41, 25];
          const entries = offsets.map((offset) => ({ at: base + offset, key: freshKey(page) }));
          await Promise.all(shuffle([...entries]).map((e) => store.recordInbound(e.key, e.at, freshUuid())));
          await store.recordOutbound((entries[1] as { key: ConversationKey }).key, base + 50);
          const inside = entries.filter((e) => e.at > base && e.at <= base + 40);
          expect(await list({ from: base, to: base + 40, pageId: page, limit: 100 })).toEqual(await expected(inside));
          expect(await list({ from: base + 41, to: base + 100, pageId: page, limit: 100 })).toEqual([]);
          expect(await list({ from: base + 40, to: base, pageId: page, limit: 100 })).toEqual([]);
        },
      );

      listTest('listByLastInbound returns at most limit entries, the first in order', async (list) => {
        const page = freshPage();
        const base = freshBase();
        const entries = Array.from({ length: 12 }, (_, i) => ({ at: base + 1 + (i % 5), key: freshKey(page) }));
        await Promise.all(entries.map((e) => store.recordInbound(e.key, e.at, freshUuid())));
        const all = await expected(entries);
        const range = { from: base, to: base + 100, pageId: page };
        expect(await list({ ...range, limit: 5 })).toEqual(all.slice(0, 5));
        expect(await list({ ...range, limit: 1 })).toEqual(all.slice(0, 1));
        expect(await list({ ...range, limit: 1000 })).toEqual(all);
        const fifth = all[4] as InboundEntry;
        const after = { at: fifth.state.lastInboundAt, key: fifth.key };
        expect(await list({ ...range, limit: 4, after })).toEqual(all.slice(5, 9));
      });

      listTest(
        'listByLastInbound pages with after, losing and repeating nothing under concurrent writes',
        async (list) => {
          const page = freshPage();
          const base = freshBase();
          // Stable conversations (many sharing a time) are present throughout and never change.
          const stable = Array.from({ length: 40 }, (_, i) => ({
            at: base + 1 + Math.floor(i / 3),
            key: freshKey(page),
          }));
          const movers = Array.from({ length: 10 }, (_, i) => ({ at: base + 2 + i, key: freshKey(page) }));
          await Promise.all([...stable, ...movers].map((e) => store.recordInbound(e.key, e.at, freshUuid())));
          const range = { from: base, to: base + 10_000, pageId: page, limit: 7 };
          const seen: InboundEntry[] = [];
          let after: InboundRange['after'];
          for (let round = 0; round < 100; round++) {
            // While the page is read: a mover gets a newer message, a newcomer arrives, each at a
            // random time inside the range (before or after the cursor).
            const mover = movers[round % movers.length] as { key: ConversationKey };
            const [entries] = await Promise.all([
              list({ ...range, after }),
              store.recordInbound(mover.key, base + 20 + Math.floor(Math.random() * 5000), freshUuid()),
              store.recordInbound(freshKey(page), base + 1 + Math.floor(Math.random() * 5000), freshUuid()),
            ]);
            expect(entries.length).toBeLessThanOrEqual(7);
            seen.push(...entries);
            if (entries.length < 7) break;
            const last = entries[entries.length - 1] as InboundEntry;
            after = { at: last.state.lastInboundAt, key: last.key };
          }
          expect(seen.length).toBeLessThan(100 * 7);
          expectStrictlyOrdered(seen);
          for (const e of stable) {
            expect(
              keysOf(seen).filter((key) => key === e.key),
              e.key,
            ).toHaveLength(1);
            expect(seen.find((s) => s.key === e.key)?.state.lastInboundAt).toBe(e.at);
          }
        },
      );

      listTest('listByLastInbound: a newer message moves a conversation later, an older one does not', async (list) => {
        const page = freshPage();
        const base = freshBase();
        const [a, b] = [freshKey(page), freshKey(page)];
        await store.recordInbound(a, base + 10, 'a-1');
        await store.recordInbound(b, base + 20, 'b-1');
        const range = { from: base, to: base + 100, pageId: page, limit: 10 };
        expect(keysOf(await list(range))).toEqual([a, b]);
        await store.recordInbound(a, base + 30, 'a-2');
        const moved = await list(range);
        expect(keysOf(moved)).toEqual([b, a]);
        expect(moved[1]?.state).toEqual({ lastInboundAt: base + 30, lastInboundUuid: 'a-2' });
        // Out of order: an older message never moves it back.
        await store.recordInbound(a, base + 5, 'a-0');
        expect(await list(range)).toEqual(moved);
        // Moved out of the range: no longer listed there.
        await store.recordInbound(b, base + 200, 'b-2');
        expect(keysOf(await list(range))).toEqual([a]);
      });

      listTest('listByLastInbound: markClosed hides a conversation until the user writes again', async (list) => {
        const page = freshPage();
        const base = freshBase();
        const [a, b] = [freshKey(page), freshKey(page)];
        await store.recordInbound(a, base + 10, 'a-1');
        await store.recordInbound(b, base + 20, 'b-1');
        const range = { from: base, to: base + 100, pageId: page, limit: 10 };
        // Closed at the very time of the user's message: that message is refused too.
        await store.markClosed(a, base + 10, 'closed_by_platform');
        await store.markClosed(b, base + 25, 'user_unavailable');
        expect(await list(range)).toEqual([]);
        await store.recordInbound(a, base + 30, 'a-2');
        const relisted = await list(range);
        expect(relisted).toEqual([
          {
            key: a,
            state: {
              lastInboundAt: base + 30,
              lastInboundUuid: 'a-2',
              closedAt: base + 10,
              closedReason: 'closed_by_platform',
            },
          },
        ]);
        // A close older than the user's latest message (a late status) does not hide it.
        await store.markClosed(a, base + 29, 'closed_by_platform');
        expect(keysOf(await list(range))).toEqual([a]);
        // An older message than the close does not re-open it.
        await store.recordInbound(b, base + 22, 'b-0');
        expect(keysOf(await list(range))).toEqual([a]);
      });

      listTest('listByLastInbound: ingest lists a message and hides a conversation a status closed', async (list) => {
        const page = freshPage();
        const key = freshKey(page);
        const base = freshBase();
        const replay = () => ({ id: `{${page}}jti:${freshUuid()}`, ttlMs: 600_000 });
        const range = { from: base, to: base + 100, pageId: page, limit: 10 };
        const message = (at: number): IngestInput => ({
          now: now(),
          replay: replay(),
          message: { key, pageId: page, at, messageUuid: freshUuid() },
        });
        await ingestWith(store, message(base + 10));
        expect(keysOf(await list(range))).toEqual([key]);
        await ingestWith(store, {
          now: now(),
          replay: replay(),
          status: {
            key,
            pageId: page,
            at: base + 15,
            effect: { kind: 'close', reason: 'closed_by_platform' },
            dedupe: { id: `{${page}}:status:${freshUuid()}:rejected`, ttlMs: 600_000 },
          },
        });
        expect(await list(range)).toEqual([]);
        await ingestWith(store, message(base + 20));
        expect(await list(range)).toEqual([{ key, state: await store.get(key) }]);
      });

      listTest('listByLastInbound: delete removes the conversation', async (list) => {
        const page = freshPage();
        const base = freshBase();
        const [a, b] = [freshKey(page), freshKey(page)];
        await store.recordInbound(a, base + 10, 'a-1');
        await store.recordInbound(b, base + 20, 'b-1');
        await store.delete(a);
        const range = { from: base, to: base + 100, pageId: page, limit: 10 };
        expect(keysOf(await list(range))).toEqual([b]);
        await store.delete(b);
        expect(await list(range)).toEqual([]);
        expect(
          await list({ from: base, to: base + 100, limit: 1000 }).then((all) =>
            keysOf(all).filter((k) => k === a || k === b),
          ),
        ).toEqual([]);
      });

      listTest('listByLastInbound: an expired conversation is no longer listed', async (list) => {
        const page = freshPage();
        const [soon, ancient, live] = [freshKey(page), freshKey(page), freshKey(page)];
        // Alive for `margin` more: long enough to see it listed, then wait it out.
        const margin = Math.max(1000, shortTtlMs * 3);
        const t = now();
        await store.recordInbound(soon, t - ttlMs + margin, 'soon');
        await store.recordInbound(ancient, t - ttlMs - HOUR, 'ancient');
        await store.recordInbound(live, t - 1000, 'live');
        const range = { from: t - ttlMs - 2 * HOUR, to: t, pageId: page, limit: 10 };
        expect(keysOf(await list(range))).toEqual([soon, live]);
        await sleep(t + margin + 50 - now());
        expect(keysOf(await list(range))).toEqual([live]);
        // A new message brings it back, at its new time.
        await store.recordInbound(soon, now() - 500, 'again');
        expect(keysOf(await list({ ...range, to: now() }))).toEqual([live, soon]);
      });

      listTest('listByLastInbound filters by pageId, and lists every Page without one', async (list) => {
        const [pageA, pageB] = [freshPage(), freshPage()];
        const base = freshBase();
        const entries = Array.from({ length: 16 }, (_, i) => ({
          at: base + 1 + Math.floor(i / 2),
          key: freshKey(i % 3 === 0 ? pageA : pageB),
        }));
        await Promise.all(entries.map((e) => store.recordInbound(e.key, e.at, freshUuid())));
        const all = await expected(entries);
        const mine = new Set(entries.map((e) => e.key as string));
        const onlyMine = (listed: InboundEntry[]) => listed.filter((e) => mine.has(e.key));
        const range = { from: base, to: base + 100 };
        const ofA = await list({ ...range, pageId: pageA, limit: 100 });
        expect(ofA).toEqual(all.filter((e) => e.key.startsWith(`${pageA}:`)));
        expect(await list({ ...range, pageId: freshPage(), limit: 100 })).toEqual([]);
        expect(onlyMine(await list({ ...range, limit: 1000 }))).toEqual(all);
        // Paged across Pages, three at a time: the same entries, in the same order.
        const paged: InboundEntry[] = [];
        let after: InboundRange['after'];
        for (let round = 0; round < 100; round++) {
          const entries3 = await list({ ...range, limit: 3, after });
          expect(entries3.length).toBeLessThanOrEqual(3);
          expectStrictlyOrdered(entries3);
          paged.push(...entries3);
          if (entries3.length < 3) break;
          const last = entries3[2] as InboundEntry;
          after = { at: last.state.lastInboundAt, key: last.key };
        }
        expectStrictlyOrdered(paged);
        expect(onlyMine(paged)).toEqual(all);
      });
    });

    describe('round-trips', () => {
      test('values round-trip exactly: odd uuids and details, big timestamps', async () => {
        const key = freshKey();
        const uuid = `ü✓ "q" 's' {tag} :colon: *glob* \\back\\ %p% ;DROP TABLE x;-- \n\t${'x'.repeat(300)}`;
        const big = 8_640_000_000_000_000; // the last millisecond a JavaScript Date can hold
        await store.recordInbound(key, big - 7, uuid);
        await store.recordOutbound(key, big - 3);
        await store.markClosed(key, big - 1, 'user_unavailable');
        expect(await store.get(key)).toEqual({
          lastInboundAt: big - 7,
          lastInboundUuid: uuid,
          lastOutboundAt: big - 3,
          closedAt: big - 1,
          closedReason: 'user_unavailable',
        });
        expect((await store.recordInbound(key, 1, uuid)).duplicate).toBe(true);
        const page = freshPage();
        const detail = `Ünïcode {x} "y" ;-- ${uuid}`;
        await store.setPageLinked(page, false, big - 11, { errorCode: '1370', errorDetail: detail });
        expect(await store.getPage(page)).toEqual({
          linked: false,
          changedAt: big - 11,
          errorCode: '1370',
          errorDetail: detail,
        });
        expect(await store.claim(uuid, 60_000)).toBe(true);
        expect(await store.claim(uuid, 60_000)).toBe(false);
      });

      test('returned states are copies, not live views', async () => {
        const key = freshKey();
        const at = now() - 1000;
        const { state } = await store.recordInbound(key, at, 'm-1');
        (state as ConversationState).lastInboundAt = 0;
        const read = await store.get(key);
        if (read !== null) read.lastInboundAt = 1;
        expect(await store.get(key)).toEqual({ lastInboundAt: at, lastInboundUuid: 'm-1' });
        const page = freshPage();
        await store.setPageLinked(page, true, at);
        const p = await store.getPage(page);
        if (p !== null) p.linked = false;
        expect((await store.getPage(page))?.linked).toBe(true);
      });
    });

    describe('input checks (checkedStore)', () => {
      test('bad input is refused with ValidationError and stores nothing', async () => {
        const key = freshKey();
        const page = freshPage();
        const id = `{${page}}:${freshUuid()}`;
        const t = now() - 1000;
        const calls: (() => Promise<unknown> | undefined)[] = [
          () => store.recordInbound(key, Number.NaN, 'm-1'),
          () => store.recordInbound(key, t + 0.5, 'm-1'),
          () => store.recordInbound(key, -1, 'm-1'),
          () => store.recordInbound(key, t, ''),
          () => store.recordInbound('' as ConversationKey, t, 'm-1'),
          () => store.markClosed(key, t, 'gone' as ClosedReason),
          () => store.setPageLinked(page, false, Number.POSITIVE_INFINITY),
          () => store.setPageLinked(page, 'no' as unknown as boolean, t),
          () => store.claim('', 60_000),
          () => store.claim(id, 0),
          () => store.claim(id, 1.5),
          () => store.lease(id, -5, t),
          () => store.settle(id, 0, true, t),
          () => store.ingest?.({ now: t, replay: { id, ttlMs: Number.NaN } }),
          () => store.takeToken?.(`page-${freshId()}`, 0, 1, t),
          () => store.takeToken?.(`page-${freshId()}`, 1, 0.5, t),
          () => store.recordAdReferral?.(key, Number.NaN),
          () => store.setTagAvailability?.(page, '', false, t),
          () => store.listByLastInbound?.({ from: t - 1000, to: t, limit: 0 }),
          () => store.listByLastInbound?.({ from: t - 1000, to: t, limit: 1001 }),
          () => store.listByLastInbound?.({ from: Number.NaN, to: t, limit: 10 }),
          () => store.listByLastInbound?.({ from: t - 1000, to: t, pageId: '' as PageId, limit: 10 }),
          () =>
            store.listByLastInbound?.({
              from: t - 1000,
              to: t,
              limit: 10,
              after: { at: t, key: 'x' as ConversationKey },
            }),
          // A cursor from another Page is foreign.
          () => store.listByLastInbound?.({ from: t - 1000, to: t, pageId: page, limit: 10, after: { at: t, key } }),
        ];
        for (const call of calls) {
          const pending = call();
          // The guard, not instanceof: the store may come from another copy of this package.
          if (pending !== undefined) expect(isValidationError(await pending.catch((e: unknown) => e))).toBe(true);
        }
        expect(await store.get(key)).toBeNull();
        expect(await store.getPage(page)).toBeNull();
        expect(await store.claim(id, 60_000)).toBe(true);
        expect((await store.lease(id, 60_000, now())).attempt).toBe(1);
      });
    });
  });
}
