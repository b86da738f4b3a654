/**
 * messenger.expiringSoon and messenger.watchWindows on the memory store, with the sandbox's
 * clock (moved by `sandbox.advance`) and fake timers for the watcher's polls.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isStoreCapabilityError, isStoreError, isValidationError, StoreError } from '../src/errors.js';
import { conversationKey, type PageId, type Psid, pageId, psid } from '../src/ids.js';
import { createMessenger, type Messenger, type MessengerOptions } from '../src/messenger.js';
import { closingWindowSpans, definePolicy, MESSENGER_POLICY } from '../src/policy.js';
import { memoryStore } from '../src/store/memory.js';
import type { SessionStore } from '../src/store/types.js';
import { createSandbox, type Sandbox } from '../src/testing/sandbox.js';
import type { ClosingWindow } from '../src/vocabulary.js';
import type { ClosingConversation } from '../src/windows.js';

const PAGE = pageId('102290129340398');
const OTHER_PAGE = pageId('100841475479486');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SPANS = closingWindowSpans(MESSENGER_POLICY, Date.now()) as Record<ClosingWindow, number>;
const user = (n: number): Psid => psid(String(25_381_719_828_000 + n));

let sandbox: Sandbox;
const open: Messenger[] = [];

beforeAll(async () => {
  sandbox = await createSandbox({
    signatureSecret: 'windows-secret',
    basicAuth: { apiKey: 'key', apiSecret: 'secret' },
    now: () => new Date('2026-06-01T09:00:00Z'),
  });
});
afterAll(async () => {
  await sandbox.close();
});
afterEach(async () => {
  vi.useRealTimers();
  for (const m of open.splice(0)) await m.close();
});

const now = () => sandbox.now().getTime();
/** A memory store on the sandbox's clock. */
const mem = (): SessionStore => memoryStore({ now, ttlMs: 30 * DAY });

function messenger(options: Partial<MessengerOptions> = {}): Messenger {
  const m = createMessenger({ apiKey: 'key', apiSecret: 'secret', apiHost: sandbox.url, now: sandbox.now, ...options });
  open.push(m);
  return m;
}

/** The user `who` wrote to `page` at `at` (default: now). */
const wrote = (m: Messenger, who: Psid, at = now(), page: PageId = PAGE) =>
  m.recordInbound({ from: who, to: page, timestamp: new Date(at), messageUuid: `m-${page}-${who}-${at}` });

/** What a conversation that last heard from its user at `at` is listed as. */
const closing = (who: Psid, window: ClosingWindow, at: number, page: PageId = PAGE): ClosingConversation => ({
  pageId: page,
  psid: who,
  window,
  closesAt: new Date(at + SPANS[window]),
  lastInboundAt: new Date(at),
});

async function rejection(run: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Every page of a query, following the cursor. */
async function all(m: Messenger, input: Parameters<Messenger['expiringSoon']>[0]): Promise<ClosingConversation[]> {
  const out: ClosingConversation[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await m.expiringSoon({ ...input, cursor });
    out.push(...page.conversations);
    cursor = page.cursor;
    if (cursor === undefined) return out;
  }
  throw new Error('the cursor never ended');
}

describe('messenger.expiringSoon', () => {
  it('lists a conversation whose reply window closes within `within`, with its Page, user, window and times', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    await wrote(m, user(1), t - 22 * HOUR);
    await wrote(m, user(2), t - 10 * HOUR);
    const { conversations, cursor } = await m.expiringSoon({ within: 2 * HOUR });
    expect(conversations).toEqual([closing(user(1), 'standard', t - 22 * HOUR)]);
    expect(conversations[0]?.closesAt.getTime()).toBe(t - 22 * HOUR + DAY - MESSENGER_POLICY.safetyMarginMs);
    expect(cursor).toBeUndefined();
  });

  it('includes a window closing exactly at now + within, and never one that closes at now or closed before', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    const span = SPANS.standard;
    await wrote(m, user(1), t - span + HOUR); // closes at now + 1 h: the edge
    await wrote(m, user(2), t - span); // closes now: closed
    await wrote(m, user(3), t - span - 1); // closed a millisecond ago
    await wrote(m, user(4), t - span + HOUR + 1); // one millisecond too late
    const { conversations } = await m.expiringSoon({ within: HOUR, windows: ['standard'] });
    expect(conversations.map((c) => c.psid)).toEqual([user(1)]);
  });

  it('merges the standard and HUMAN_AGENT windows of every Page in closing order', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    await wrote(m, user(1), t - 23 * HOUR); // standard closes in ~1 h
    await wrote(m, user(2), t - 6 * DAY - 23 * HOUR, OTHER_PAGE); // HUMAN_AGENT closes in ~1 h, standard long closed
    await wrote(m, user(3), t - 20 * HOUR); // standard closes in ~4 h
    const listed = await m.expiringSoon({ within: 7 * DAY });
    expect(listed.conversations).toEqual(
      [
        closing(user(1), 'standard', t - 23 * HOUR),
        closing(user(2), 'human_agent', t - 6 * DAY - 23 * HOUR, OTHER_PAGE),
        closing(user(3), 'standard', t - 20 * HOUR),
        closing(user(3), 'human_agent', t - 20 * HOUR),
        closing(user(1), 'human_agent', t - 23 * HOUR),
      ].sort((a, b) => a.closesAt.getTime() - b.closesAt.getTime()),
    );
  });

  it('lists only the Page asked for, and only the windows asked for', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    await wrote(m, user(1), t - 23 * HOUR);
    await wrote(m, user(2), t - 23 * HOUR, OTHER_PAGE);
    const page = await m.expiringSoon({ within: 7 * DAY, pageId: OTHER_PAGE });
    expect(page.conversations.map((c) => [c.pageId, c.window])).toEqual([
      [OTHER_PAGE, 'standard'],
      [OTHER_PAGE, 'human_agent'],
    ]);
    const agent = await m.expiringSoon({ within: 7 * DAY, windows: ['human_agent'] });
    // The same closing time: by conversation key, so OTHER_PAGE (100…) first.
    expect(agent.conversations.map((c) => [c.psid, c.window])).toEqual([
      [user(2), 'human_agent'],
      [user(1), 'human_agent'],
    ]);
  });

  it('excludes conversations the platform closed, until the user writes again', async () => {
    const store = mem();
    const m = messenger({ store });
    const t = now();
    await wrote(m, user(1), t - 23 * HOUR);
    await store.markClosed(conversationKey(PAGE, user(1)), t - HOUR, 'closed_by_platform');
    expect((await m.expiringSoon({ within: 7 * DAY })).conversations).toEqual([]);
    await wrote(m, user(1), t - 30 * MINUTE);
    expect((await m.expiringSoon({ within: DAY })).conversations).toEqual([
      closing(user(1), 'standard', t - 30 * MINUTE),
    ]);
  });

  it('does not list the standard window while a Click-to-Messenger ad keeps replies allowed longer', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    await m.recordAdReferral({ from: user(1), to: PAGE, timestamp: new Date(t - 23 * HOUR), messageUuid: 'ad-1' });
    const listed = await m.expiringSoon({ within: 7 * DAY });
    // Replies stay allowed for 7 days: that end is the HUMAN_AGENT window's, listed as such.
    expect(listed.conversations).toEqual([closing(user(1), 'human_agent', t - 23 * HOUR)]);
    expect((await m.canSend({ from: PAGE, to: user(1) })).allowed).toBe(true);
  });

  it('lists only the declared Pages of a messenger with `pages`', async () => {
    const store = mem();
    const t = now();
    await wrote(messenger({ store }), user(2), t - 23 * HOUR, OTHER_PAGE);
    const m = messenger({ store, pages: [PAGE] });
    await wrote(m, user(1), t - 23 * HOUR);
    expect((await m.expiringSoon({ within: 2 * HOUR })).conversations.map((c) => c.psid)).toEqual([user(1)]);
    const refused = await rejection(() => m.expiringSoon({ within: HOUR, pageId: OTHER_PAGE }));
    expect(isValidationError(refused)).toBe(true);
  });

  it('lists the standard window only, by default, under a policy without HUMAN_AGENT; asking for it is refused', async () => {
    const m = messenger({ store: mem(), policy: definePolicy({ tags: { HUMAN_AGENT: null } }) });
    await wrote(m, user(1), now() - 23 * HOUR);
    expect((await m.expiringSoon({ within: 7 * DAY })).conversations.map((c) => c.window)).toEqual(['standard']);
    const refused = await rejection(() => m.expiringSoon({ within: 7 * DAY, windows: ['human_agent'] }));
    expect(isValidationError(refused) && refused.issues).toEqual([
      { path: 'windows', message: 'the policy has no human_agent window' },
    ]);
  });

  it('pages through the list in closing order, each conversation once, with any limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ n: fc.integer({ min: 0, max: 40 }), ago: fc.integer({ min: 0, max: 8 * DAY }) }), {
          selector: (c) => c.n,
          maxLength: 25,
        }),
        fc.integer({ min: 1, max: 8 * DAY }),
        fc.integer({ min: 1, max: 7 }),
        async (conversations, within, limit) => {
          const m = createMessenger({ apiKey: 'key', apiSecret: 'secret', now: sandbox.now, store: mem() });
          const t = now();
          for (const c of conversations) await wrote(m, user(c.n), t - c.ago, c.n % 2 === 0 ? PAGE : OTHER_PAGE);
          const expected = conversations
            .flatMap((c) =>
              (['standard', 'human_agent'] as const).map((w) =>
                closing(user(c.n), w, t - c.ago, c.n % 2 === 0 ? PAGE : OTHER_PAGE),
              ),
            )
            .filter((c) => c.closesAt.getTime() > t && c.closesAt.getTime() <= t + within);
          const listed = await all(m, { within, limit });
          expect(listed).toHaveLength(expected.length);
          expect(new Set(listed.map((c) => `${c.psid}:${c.window}`)).size).toBe(listed.length);
          expect(listed).toEqual(expect.arrayContaining(expected));
          const times = listed.map((c) => c.closesAt.getTime());
          expect(times).toEqual([...times].sort((a, b) => a - b));
          await m.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps the end of the interval across pages, and drops what closed in between', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    // Windows closing 59, 69, 79 and 89 minutes from t.
    for (let n = 0; n < 4; n++) await wrote(m, user(n), t - 23 * HOUR + n * 10 * MINUTE);
    const first = await m.expiringSoon({ within: 2 * HOUR, windows: ['standard'], limit: 2 });
    expect(first.conversations.map((c) => c.psid)).toEqual([user(0), user(1)]);
    sandbox.advance(80 * MINUTE); // user(2)'s window closed meanwhile
    await wrote(m, user(9), now() - 23 * HOUR); // closes at t + 139 min: after the interval's end (t + 120 min)
    const second = await m.expiringSoon({ within: 2 * HOUR, windows: ['standard'], limit: 5, cursor: first.cursor });
    expect(second.conversations.map((c) => c.psid)).toEqual([user(3)]);
    expect(second.cursor).toBeUndefined();
    expect(
      (await m.expiringSoon({ within: 2 * HOUR, windows: ['standard'] })).conversations.map((c) => c.psid),
    ).toEqual([user(3), user(9)]);
  });

  it('lists a conversation again after a newer message moved its window later', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    await wrote(m, user(1), t - 23 * HOUR);
    await wrote(m, user(2), t - 22 * HOUR);
    const first = await m.expiringSoon({ within: 2 * HOUR, windows: ['standard'], limit: 1 });
    expect(first.conversations.map((c) => c.psid)).toEqual([user(1)]);
    await wrote(m, user(1), t - 22 * HOUR + 30_000); // now closes 30 s after user(2), still within 2 h
    const rest = await all(m, { within: 2 * HOUR, windows: ['standard'], limit: 1, cursor: first.cursor });
    expect(rest.map((c) => c.psid)).toEqual([user(2), user(1)]);
  });

  it('refuses a cursor from another query, a garbled one and a foreign one', async () => {
    const store = mem();
    const m = messenger({ store });
    for (let n = 0; n < 3; n++) await wrote(m, user(n), now() - 23 * HOUR);
    const { cursor } = await m.expiringSoon({ within: 2 * HOUR, limit: 1 });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const foreign = Buffer.from(JSON.stringify({ v: 1, q: [1, null, ['standard']], u: 1, p: { standard: 'x' } }));
    const elsewhere = Buffer.from(
      JSON.stringify({ v: 1, q: [HOUR, PAGE, ['standard']], u: now(), p: { standard: [1, `${OTHER_PAGE}:1`] } }),
    );
    // The same cursor with its end moved 300 days on: it would list windows far past `within`.
    const decoded = JSON.parse(Buffer.from(cursor ?? '', 'base64url').toString()) as { u: number };
    const later = Buffer.from(JSON.stringify({ ...decoded, u: now() + 300 * DAY })).toString('base64url');
    const cases: Record<string, Parameters<Messenger['expiringSoon']>[0]> = {
      'an end moved later': { within: 2 * HOUR, cursor: later },
      'another within': { within: 3 * HOUR, cursor },
      'another Page': { within: 2 * HOUR, pageId: PAGE, cursor },
      'other windows': { within: 2 * HOUR, windows: ['standard'], cursor },
      garbled: { within: 2 * HOUR, cursor: `${cursor?.slice(0, -3)}xyz` },
      'not base64url': { within: 2 * HOUR, cursor: 'a+b/c==' },
      'foreign JSON': { within: 2 * HOUR, cursor: foreign.toString('base64url') },
      'from another API': { within: 2 * HOUR, cursor: Buffer.from('{"page":2}').toString('base64url') },
      empty: { within: 2 * HOUR, cursor: '' },
      "another Page's position": {
        within: HOUR,
        pageId: PAGE,
        windows: ['standard'],
        cursor: elsewhere.toString('base64url'),
      },
    };
    for (const [name, input] of Object.entries(cases)) {
      const error = await rejection(() => m.expiringSoon(input));
      expect(isValidationError(error), name).toBe(true);
      expect(isValidationError(error) && error.issues[0]?.path, name).toBe('cursor');
    }
    // A page served by another instance whose clock runs a minute ahead still pages on here.
    const ahead = messenger({ store, now: () => new Date(now() + MINUTE) });
    const first = await ahead.expiringSoon({ within: 2 * HOUR, limit: 1 });
    const rest = await m.expiringSoon({ within: 2 * HOUR, cursor: first.cursor });
    expect([...first.conversations, ...rest.conversations]).toHaveLength(3);
  });

  it('refuses bad input with a ValidationError naming the field', async () => {
    const m = messenger({ store: mem() });
    const cases: [string, unknown][] = [
      ['within', { within: 0 }],
      ['within', { within: -HOUR }],
      ['within', { within: Number.NaN }],
      ['within', { within: Number.POSITIVE_INFINITY }],
      ['within', { within: 1.5 }],
      ['within', { within: '2h' }],
      ['within', { within: 367 * DAY }],
      ['within', {}],
      ['limit', { within: HOUR, limit: 0 }],
      ['limit', { within: HOUR, limit: 1001 }],
      ['limit', { within: HOUR, limit: 2.5 }],
      ['windows', { within: HOUR, windows: [] }],
      ['windows.0', { within: HOUR, windows: ['ad_referral'] }],
      ['windows', { within: HOUR, windows: 'standard' }],
      ['pageId', { within: HOUR, pageId: 'page-1' }],
      ['cursor', { within: HOUR, cursor: 42 }],
      ['', { within: HOUR, extra: true }],
    ];
    for (const [path, input] of cases) {
      const error = await rejection(() => m.expiringSoon(input as Parameters<Messenger['expiringSoon']>[0]));
      expect(isValidationError(error), JSON.stringify(input)).toBe(true);
      expect(isValidationError(error) && error.issues[0]?.path, JSON.stringify(input)).toBe(path);
    }
    expect((await m.expiringSoon({ within: HOUR, limit: 1000 })).conversations).toEqual([]);
  });

  it('fails with StoreCapabilityError naming listByLastInbound on a store without it', async () => {
    const { listByLastInbound: _, ...store } = mem();
    const m = messenger({ store });
    const error = await rejection(() => m.expiringSoon({ within: HOUR }));
    expect(isStoreCapabilityError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'MISSING_STORE_CAPABILITY', capability: 'listByLastInbound' });
    expect(isStoreCapabilityError(await rejection(() => m.watchWindows({ before: HOUR, onClosing() {} })))).toBe(true);
  });

  it('reports a failing store as StoreError', async () => {
    const inner = mem();
    const store: SessionStore = {
      ...inner,
      listByLastInbound: () => Promise.reject(new Error('ECONNREFUSED')),
    };
    const error = await rejection(() => messenger({ store }).expiringSoon({ within: HOUR }));
    expect(isStoreError(error)).toBe(true);
  });
});

/** A store whose listing can be switched off (an outage) and counted. */
function flaky(inner: SessionStore) {
  const state = { down: false, lists: 0, claims: 0 };
  const list = inner.listByLastInbound?.bind(inner);
  const store: SessionStore = {
    ...inner,
    async listByLastInbound(range) {
      state.lists += 1;
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      return (list as NonNullable<typeof list>)(range);
    },
    async claim(id, ttl) {
      state.claims += 1;
      return inner.claim(id, ttl);
    },
  };
  return { store, state };
}

/** A store that runs `hook` once, right before the next claim: a change between a watcher's listing and its claim. */
function betweenListingAndClaim(inner: SessionStore) {
  let hook: (() => Promise<unknown>) | undefined;
  const store: SessionStore = {
    ...inner,
    async claim(id, ttl) {
      const run = hook;
      hook = undefined;
      await run?.();
      return inner.claim(id, ttl);
    },
  };
  const beforeNextClaim = (run: () => Promise<unknown>): void => {
    hook = run;
  };
  return { store, beforeNextClaim };
}

describe('messenger.watchWindows', () => {
  const EVERY = 60_000;
  /** Lets the fake timers run `ms` and every poll they start finish. */
  const elapse = async (ms: number) => {
    sandbox.advance(ms);
    await vi.advanceTimersByTimeAsync(ms);
  };

  it('calls onClosing once per conversation and window end, however often it polls and however many messengers watch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const store = mem();
    const [a, b] = [messenger({ store }), messenger({ store })] as const;
    const t = now();
    await wrote(a, user(1), t - 22 * HOUR - 30 * MINUTE); // closes in ~1.5 h
    await wrote(a, user(2), t - 10 * HOUR); // closes in ~14 h
    const fired: [string, ClosingConversation][] = [];
    const wa = a.watchWindows({ before: 2 * HOUR, every: EVERY, onClosing: (c) => void fired.push(['a', c]) });
    const wb = b.watchWindows({ before: 2 * HOUR, every: EVERY, onClosing: (c) => void fired.push(['b', c]) });
    await Promise.all([wa.poll(), wb.poll()]);
    await elapse(5 * EVERY);
    expect(fired.map(([, c]) => c)).toEqual([closing(user(1), 'standard', t - 22 * HOUR - 30 * MINUTE)]);
    // user(2)'s window nears its end 12 hours later: announced then, once.
    await elapse(12 * HOUR + 5 * MINUTE);
    expect(fired.map(([, c]) => c.psid)).toEqual([user(1), user(2)]);
    await Promise.all([wa.stop(), wb.stop()]);
  });

  it('calls onClosing again when a newer message moved the window and the new end nears', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const m = messenger({ store: mem() });
    await wrote(m, user(1), now() - 23 * HOUR);
    const fired: ClosingConversation[] = [];
    const w = m.watchWindows({ before: 2 * HOUR, every: EVERY, onClosing: (c) => void fired.push(c) });
    await w.poll();
    expect(fired).toHaveLength(1);
    const again = now();
    await wrote(m, user(1), again); // the user answers: a new 24-hour window
    await elapse(10 * EVERY);
    expect(fired).toHaveLength(1);
    await elapse(22 * HOUR);
    expect(fired).toEqual([fired[0], closing(user(1), 'standard', again)]);
    await w.stop();
  });

  it('never calls onClosing for a window that closed, even one that closes while an earlier handler runs', async () => {
    const m = messenger({ store: mem() });
    const t = now();
    await wrote(m, user(1), t - SPANS.standard - 1); // closed before the watcher starts
    await wrote(m, user(2), t - SPANS.standard + 10 * MINUTE); // closes in 10 minutes
    await wrote(m, user(3), t - SPANS.standard + 20 * MINUTE); // closes in 20 minutes
    const fired: Psid[] = [];
    const w = m.watchWindows({
      before: HOUR,
      every: EVERY,
      windows: ['standard'],
      onClosing(c) {
        fired.push(c.psid);
        sandbox.advance(30 * MINUTE); // a slow handler: user(3)'s window closes meanwhile
      },
    });
    await w.poll();
    await w.stop();
    expect(fired).toEqual([user(2)]);
  });

  it('stopped inside onClosing: no further call, and the rest of the page stays for another watcher', async () => {
    const store = mem();
    const [a, b] = [messenger({ store }), messenger({ store })] as const;
    for (const n of [1, 2, 3]) await wrote(a, user(n), now() - 23 * HOUR + n * MINUTE);
    const fired: [string, Psid][] = [];
    const wa = a.watchWindows({
      before: 2 * HOUR,
      windows: ['standard'],
      onClosing(c) {
        fired.push(['a', c.psid]);
        void wa.stop(); // not awaited: it waits for this very call
      },
    });
    await wa.poll();
    await wa.stop();
    expect(fired).toEqual([['a', user(1)]]);
    const wb = b.watchWindows({
      before: 2 * HOUR,
      windows: ['standard'],
      onClosing: (c) => void fired.push(['b', c.psid]),
    });
    await wb.poll();
    await wb.stop();
    expect(fired).toEqual([
      ['a', user(1)],
      ['b', user(2)],
      ['b', user(3)],
    ]);
  });

  it('does not announce a window end the user moved between the listing and the claim; the new end comes in its turn', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, beforeNextClaim } = betweenListingAndClaim(mem());
    const m = messenger({ store });
    await wrote(m, user(1), now() - 23 * HOUR);
    const again = now();
    beforeNextClaim(() => wrote(m, user(1), again)); // the user writes again
    const fired: ClosingConversation[] = [];
    const w = m.watchWindows({
      before: 2 * HOUR,
      every: EVERY,
      windows: ['standard'],
      onClosing: (c) => void fired.push(c),
    });
    await w.poll();
    expect(fired).toEqual([]);
    await elapse(22 * HOUR + 5 * MINUTE);
    expect(fired).toEqual([closing(user(1), 'standard', again)]);
    await w.stop();
  });

  it('does not announce a standard end that an ad referral recorded after the listing outlasts', async () => {
    const { store, beforeNextClaim } = betweenListingAndClaim(mem());
    const m = messenger({ store });
    const at = now() - 23 * HOUR;
    await wrote(m, user(1), at);
    // The user's message came from a Click-to-Messenger ad, recorded just after the listing.
    beforeNextClaim(() => store.recordAdReferral?.(conversationKey(PAGE, user(1)), at) ?? Promise.resolve());
    const fired: ClosingConversation[] = [];
    const w = m.watchWindows({ before: 2 * HOUR, windows: ['standard'], onClosing: (c) => void fired.push(c) });
    await w.poll();
    await w.stop();
    expect(fired).toEqual([]);
  });

  it('announces a window end it claimed even when the read after the claim fails, and reports the failure', async () => {
    const inner = mem();
    let failGet = false;
    const store: SessionStore = {
      ...inner,
      async get(key) {
        if (failGet) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return inner.get(key);
      },
    };
    const m = messenger({ store });
    await wrote(m, user(1), now() - 23 * HOUR);
    failGet = true;
    const fired: Psid[] = [];
    const errors: unknown[] = [];
    const w = m.watchWindows({
      before: 2 * HOUR,
      windows: ['standard'],
      onClosing: (c) => void fired.push(c.psid),
      onError: (e) => void errors.push(e),
    });
    await w.poll();
    await w.stop();
    // Claimed, so no process would announce it again: announced as listed.
    expect(fired).toEqual([user(1)]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StoreError);
  });

  it('reports a store outage to onError as StoreError and recovers on the next poll', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, state } = flaky(mem());
    const m = messenger({ store });
    await wrote(m, user(1), now() - 23 * HOUR);
    state.down = true;
    const fired: Psid[] = [];
    const errors: unknown[] = [];
    const w = m.watchWindows({
      before: 2 * HOUR,
      every: EVERY,
      onClosing: (c) => void fired.push(c.psid),
      onError: (e) => void errors.push(e),
    });
    await w.poll();
    expect(fired).toEqual([]);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.every((e) => e instanceof StoreError && /ECONNREFUSED/.test(e.message))).toBe(true);
    state.down = false;
    await elapse(EVERY);
    expect(fired).toEqual([user(1)]);
    await w.stop();
  });

  it('reports what onClosing throws, with its conversation, and keeps going', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const m = messenger({ store: mem() });
    await wrote(m, user(1), now() - 23 * HOUR);
    await wrote(m, user(2), now() - 22 * HOUR);
    const fired: Psid[] = [];
    const errors: [unknown, ClosingConversation | undefined][] = [];
    const w = m.watchWindows({
      before: 2 * HOUR,
      every: EVERY,
      async onClosing(c) {
        fired.push(c.psid);
        if (c.psid === user(1)) throw new Error('dashboard down');
      },
      onError: (e, c) => void errors.push([e, c]),
    });
    await w.poll();
    expect(fired).toEqual([user(1), user(2)]);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.[0])).toContain('dashboard down');
    expect(errors[0]?.[1]?.psid).toBe(user(1));
    // Still polling: a later conversation is announced.
    await wrote(m, user(3), now() - 22 * HOUR - 30 * MINUTE);
    await elapse(EVERY);
    expect(fired).toEqual([user(1), user(2), user(3)]);
    await w.stop();
  });

  it('polls every `every` ms until stop(), which waits for the poll in progress', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, state } = flaky(mem());
    const m = messenger({ store });
    await wrote(m, user(1), now() - 23 * HOUR);
    let release: () => void = () => {};
    let finished = false;
    const w = m.watchWindows({
      before: 2 * HOUR,
      every: EVERY,
      windows: ['standard'],
      onClosing: () =>
        new Promise<void>((resolve) => {
          release = () => {
            finished = true;
            resolve();
          };
        }),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(state.lists).toBe(1);
    const stopped = w.stop();
    let done = false;
    void stopped.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false); // the handler is still running
    release();
    await stopped;
    expect(finished).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * EVERY);
    expect(state.lists).toBe(1);
    await w.poll(); // stopped: nothing
    expect(state.lists).toBe(1);
  });

  it('runs one poll for poll() right after start (a cron trigger), and one more for each poll() after that', async () => {
    const { store, state } = flaky(mem());
    const m = messenger({ store });
    const w = m.watchWindows({ before: 2 * HOUR, windows: ['standard'], onClosing() {} });
    await w.poll();
    expect(state.lists).toBe(1);
    await Promise.all([w.poll(), w.poll()]);
    expect(state.lists).toBe(2);
    await w.stop();
  });

  it('polls on its timer: one list per `every`', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, state } = flaky(mem());
    const m = messenger({ store });
    const w = m.watchWindows({ before: 2 * HOUR, every: EVERY, windows: ['standard'], onClosing() {} });
    await vi.advanceTimersByTimeAsync(0);
    expect(state.lists).toBe(1);
    await vi.advanceTimersByTimeAsync(3 * EVERY);
    expect(state.lists).toBe(4);
    await m.close(); // close() stops the watchers
    await vi.advanceTimersByTimeAsync(3 * EVERY);
    expect(state.lists).toBe(4);
    await w.stop();
  });

  it('refuses bad options with a ValidationError naming the field, before polling', async () => {
    const { store, state } = flaky(mem());
    const m = messenger({ store });
    const onClosing = () => {};
    const cases: [string, unknown][] = [
      ['before', { onClosing }],
      ['before', { before: 0, onClosing }],
      ['before', { before: Number.NaN, onClosing }],
      ['every', { before: HOUR, every: 999, onClosing }],
      ['every', { before: HOUR, every: HOUR, onClosing }],
      ['every', { before: 2 * HOUR, every: 1.5e3 + 0.5, onClosing }],
      ['onClosing', { before: HOUR }],
      ['onError', { before: HOUR, onClosing, onError: 'log' }],
      ['windows.0', { before: HOUR, onClosing, windows: ['tag'] }],
      ['pageId', { before: HOUR, onClosing, pageId: -1 }],
    ];
    for (const [path, input] of cases) {
      const error = await rejection(() => m.watchWindows(input as Parameters<Messenger['watchWindows']>[0]));
      expect(isValidationError(error), JSON.stringify(input)).toBe(true);
      expect(isValidationError(error) && error.issues[0]?.path, JSON.stringify(input)).toBe(path);
    }
    expect(state.lists).toBe(0);
  });
});
