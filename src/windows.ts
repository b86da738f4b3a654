/**
 * Windows closing soon. `expiringSoon` lists the open conversations whose window closes within
 * a given time from now, in closing order, a page at a time; `watchWindows` polls it and calls
 * a function once per conversation and window end across the whole fleet (a store claim per
 * window end).
 *
 * A window of a kind closes at `lastInboundAt + span`, the span from the policy
 * (`closingWindowSpans`), so one store index, `lastInboundAt`, serves every kind: the store is
 * asked once per kind, for the range of `lastInboundAt` whose windows close in the interval,
 * and the lists are merged by closing time. The cursor keeps one position per kind.
 *
 * @module
 */
import * as z from 'zod';
import { base64urlDecode, base64urlEncode, utf8Decode } from './bytes.js';
import { StoreCapabilityError, ValidationError } from './errors.js';
import {
  type ConversationKey,
  conversationKey,
  type PageId,
  PageIdSchema,
  type Psid,
  parseConversationKey,
} from './ids.js';
import { lazySchema } from './lazy-schema.js';
import type { PageRules } from './pages.js';
import { closingWindowEnds, closingWindowSpans, type MessengerPolicy } from './policy.js';
import { type PageIdInput, parseInput } from './send/schemas.js';
import { callStore } from './store/guard.js';
import { type InboundEntry, type InboundRange, MAX_INBOUND_RANGE_LIMIT, type SessionStore } from './store/types.js';
import { CLOSING_WINDOWS, type ClosingWindow } from './vocabulary.js';

/** The largest `limit` of one `expiringSoon` page: the store's own maximum per call. */
export const MAX_EXPIRING_SOON_LIMIT = MAX_INBOUND_RANGE_LIMIT;
const DEFAULT_LIMIT = 100;
const DAY = 24 * 60 * 60 * 1000;
// Every window lasts at most days, so a year already lists every open one; the bound keeps
// `now + within` an exact integer for every store's bigint columns.
const MAX_WITHIN_MS = 366 * DAY;
// Longest delay a Node timer honours (2^31 - 1 ms); a longer one fires at once.
const MAX_TIMER_MS = 2_147_483_647;
const DEFAULT_EVERY_MS = 60_000;
/** Store reads one page may make; a page may come back short (with a cursor) when reached. */
const MAX_STORE_CALLS_PER_PAGE = 16;
/**
 * How long a watcher's claim outlives the window: a process whose clock lags by less than
 * this still sees the claim while it sees the window open.
 */
const CLAIM_SLACK_MS = 5 * 60_000;
/** How far ahead of this process's clock another instance's may run, as a cursor's end shows. */
const CURSOR_CLOCK_SLACK_MS = 5 * 60_000;
const CURSOR_VERSION = 1;
const MAX_CURSOR_CHARS = 2048;

/** Input of `messenger.expiringSoon`. */
export interface ExpiringSoonInput {
  /** List windows closing after now and at most this many milliseconds from now (a whole number, at most a year). */
  within: number;
  /** Only this Page; every Page the messenger serves when omitted. */
  pageId?: PageIdInput | undefined;
  /** Which windows to list; default every window the policy has (`standard`, `human_agent`). */
  windows?: readonly ClosingWindow[] | undefined;
  /** Conversations per page: 1 to {@link MAX_EXPIRING_SOON_LIMIT}, default 100. */
  limit?: number | undefined;
  /** The `cursor` of the previous page, from the same query (same `within`, `pageId` and `windows`). */
  cursor?: string | undefined;
}

/** One window of one conversation that closes soon. */
export interface ClosingConversation {
  /** The Page the user wrote to. */
  pageId: PageId;
  /** The user. */
  psid: Psid;
  /** Which window closes: `standard` (replies) or `human_agent` (the HUMAN_AGENT tag). */
  window: ClosingWindow;
  /** The first instant at which this window's sends are refused (the safety margin included). */
  closesAt: Date;
  /** The user's latest message, where the window started. */
  lastInboundAt: Date;
}

/** Result of `messenger.expiringSoon`. */
export interface ExpiringSoonResult {
  /** Ordered by `closesAt`, earliest first. */
  conversations: ClosingConversation[];
  /** Present when there may be more: pass it back, with the same query, for the next page. */
  cursor?: string;
}

/** Input of `messenger.watchWindows`. */
export interface WatchWindowsInput {
  /** Call `onClosing` when a window closes within this many milliseconds (as `within` of `expiringSoon`). */
  before: number;
  /** Poll every this many milliseconds: at least 1 000, less than `before`; default 60 000. */
  every?: number | undefined;
  /**
   * Called once per conversation and window end across every process watching the same store.
   * A rejection or exception goes to `onError`; it is not called again for that window end.
   */
  onClosing: (conversation: ClosingConversation) => void | Promise<void>;
  /**
   * A poll's failure (`StoreError`: the watcher retries on the next poll), or what `onClosing`
   * threw (with its conversation). Default: `console.error`.
   */
  onError?: ((error: unknown, conversation?: ClosingConversation) => void) | undefined;
  /** As in `expiringSoon`. */
  windows?: readonly ClosingWindow[] | undefined;
  /** As in `expiringSoon`. */
  pageId?: PageIdInput | undefined;
}

/** A running `watchWindows`. */
export interface WindowWatcher {
  /**
   * Stops polling: no window end is claimed after it, so no `onClosing` call starts but for one
   * this watcher had already claimed (no other process would announce that end). Resolves once
   * a poll in progress has ended, including its `onClosing` call in progress, so inside
   * `onClosing` call it without `await` (awaited there, it would wait for itself).
   */
  stop(): Promise<void>;
  /**
   * Polls now (after a poll in progress; joins one not yet begun, such as the first), for a
   * scheduler of your own (a cron trigger); failures go to `onError`. Does nothing once stopped.
   */
  poll(): Promise<void>;
}

const milliseconds = (label: string) =>
  z
    .number({ error: `${label} must be a number of milliseconds` })
    .int(`${label} must be a whole number of milliseconds`)
    .positive(`${label} must be positive`)
    .max(MAX_WITHIN_MS, `${label} must be at most ${MAX_WITHIN_MS} (366 days)`);

const WindowsSchema = lazySchema(() =>
  z
    .array(z.enum(CLOSING_WINDOWS, { error: `windows may hold only ${CLOSING_WINDOWS.join(', ')}` }), {
      error: 'windows must be an array',
    })
    .min(1, 'windows must not be empty (leave it out for every window)'),
);

const ExpiringSoonSchema = lazySchema(() =>
  z.strictObject({
    within: milliseconds('within'),
    pageId: PageIdSchema.optional(),
    windows: WindowsSchema.optional(),
    limit: z
      .number({ error: 'limit must be a number' })
      .int('limit must be a whole number')
      .min(1, 'limit must be at least 1')
      .max(MAX_EXPIRING_SOON_LIMIT, `limit must be at most ${MAX_EXPIRING_SOON_LIMIT}`)
      .optional(),
    cursor: z.string({ error: 'cursor must be a string' }).optional(),
  }),
);

const WatchWindowsSchema = lazySchema(() =>
  z
    .strictObject({
      before: milliseconds('before'),
      every: z
        .number({ error: 'every must be a number of milliseconds' })
        .int('every must be a whole number of milliseconds')
        .min(1000, 'every must be at least 1000 (a poll a second is plenty)')
        .max(MAX_TIMER_MS, `every must be at most ${MAX_TIMER_MS} (a Node timer's limit)`)
        .optional(),
      onClosing: z.custom<WatchWindowsInput['onClosing']>(
        (v) => typeof v === 'function',
        'onClosing must be a function',
      ),
      onError: z
        .custom<NonNullable<WatchWindowsInput['onError']>>((v) => typeof v === 'function', 'onError must be a function')
        .optional(),
      windows: WindowsSchema.optional(),
      pageId: PageIdSchema.optional(),
    })
    .refine((o) => (o.every ?? DEFAULT_EVERY_MS) < o.before, {
      path: ['every'],
      message: 'every must be shorter than before, or a window could close between two polls unseen',
    }),
);

const KeySchema = lazySchema(() =>
  z.string().refine((key) => {
    try {
      parseConversationKey(key as ConversationKey);
      return true;
    } catch {
      return false;
    }
  }),
);

// Short field names: the cursor travels in URLs. A kind is either done, or resumes after a
// position (absent: not started).
const CursorSchema = lazySchema(() =>
  z.strictObject({
    v: z.literal(CURSOR_VERSION),
    /** The query it belongs to: within, pageId (or null), windows. */
    q: z.tuple([z.number(), z.string().nullable(), z.array(z.enum(CLOSING_WINDOWS))]),
    /** The end of the interval, fixed by the first page. */
    u: z.number().int().nonnegative(),
    /** Per kind: `1` done, or `[lastInboundAt, key]` to resume after. */
    p: z.partialRecord(
      z.enum(CLOSING_WINDOWS),
      z.union([z.literal(1), z.tuple([z.number().int().nonnegative(), KeySchema])]),
    ),
  }),
);
type CursorState = z.output<typeof CursorSchema>;

/** The query a cursor must come from, as the cursor writes it. */
type Fingerprint = CursorState['q'];

const badCursor = (why: string) =>
  new ValidationError(`Invalid expiringSoon input: cursor ${why}`, [{ path: 'cursor', message: why }]);

function encodeCursor(state: CursorState): string {
  return base64urlEncode(JSON.stringify(state));
}

function decodeCursor(text: string, query: Fingerprint): CursorState {
  if (text.length === 0 || text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw badCursor('is not a cursor of expiringSoon');
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(base64urlDecode(text)));
  } catch {
    throw badCursor('is not a cursor of expiringSoon');
  }
  const parsed = CursorSchema.safeParse(json);
  if (!parsed.success) throw badCursor('is not a cursor of expiringSoon (or of an older version)');
  if (JSON.stringify(parsed.data.q) !== JSON.stringify(query)) {
    throw badCursor('belongs to another query: pass the same within, pageId and windows as for the first page');
  }
  for (const [kind, position] of Object.entries(parsed.data.p)) {
    if (!query[2].includes(kind as ClosingWindow)) throw badCursor('names a window the query does not list');
    if (query[1] !== null && Array.isArray(position) && !position[1].startsWith(`${query[1]}:`)) {
      throw badCursor("holds a position outside the query's Page");
    }
  }
  return parsed.data;
}

/** One window kind's share of a page: its range of `lastInboundAt` and what was read of it. */
interface Stream {
  window: ClosingWindow;
  order: number;
  span: number;
  after: { at: number; key: ConversationKey } | undefined;
  buffer: InboundEntry[];
  /** The store has nothing after `buffer`. */
  exhausted: boolean;
}

/** A validated query, ready to run a page of. */
interface Plan {
  pageId: PageId | undefined;
  windows: ClosingWindow[];
  spans: Partial<Record<ClosingWindow, number>>;
  fingerprint: Fingerprint;
  within: number;
}

/** Dependencies of {@link createWindows}: the messenger's store, rules and clock. */
export interface WindowsDeps {
  store: SessionStore;
  policy: MessengerPolicy;
  pages: PageRules;
  now: () => number;
}

/**
 * `expiringSoon` and `watchWindows` over one store, policy and clock.
 *
 * @internal
 */
export function createWindows(deps: WindowsDeps) {
  const { store, policy, pages, now } = deps;

  const lister = (): ((range: InboundRange) => Promise<InboundEntry[]>) => {
    const list = store.listByLastInbound?.bind(store);
    if (list === undefined) {
      throw new StoreCapabilityError(
        'expiringSoon and watchWindows need a store with listByLastInbound (every store of this package has it unless created with windowIndex: false; a custom store must add it, see docs/stores.md)',
        'listByLastInbound',
      );
    }
    return list;
  };

  function plan(
    input: { within: number; pageId?: PageId | undefined; windows?: ClosingWindow[] | undefined },
    at: number,
  ): Plan {
    if (input.pageId !== undefined) pages.checkDeclared(input.pageId, 'pageId');
    const spans = closingWindowSpans(policy, at);
    const asked = input.windows === undefined ? CLOSING_WINDOWS.filter((w) => spans[w] !== undefined) : input.windows;
    const windows = CLOSING_WINDOWS.filter((w) => asked.includes(w));
    const missing = windows.filter((w) => spans[w] === undefined);
    if (missing.length > 0) {
      throw new ValidationError(
        `Invalid windows: the policy has no ${missing.join(', ')} window now (its tag is removed, without a limit, or retired)`,
        [{ path: 'windows', message: `the policy has no ${missing.join(', ')} window` }],
      );
    }
    return {
      pageId: input.pageId,
      windows,
      spans,
      within: input.within,
      fingerprint: [input.within, input.pageId ?? null, windows],
    };
  }

  async function page(p: Plan, limit: number, cursor: string | undefined): Promise<ExpiringSoonResult> {
    const list = lister();
    const at = now();
    const state = cursor === undefined ? undefined : decodeCursor(cursor, p.fingerprint);
    // The first page fixed the end at its now + within, before ours but on the clock of the
    // instance that served it, which may run ahead of this one.
    if (state !== undefined && state.u > at + p.within + CURSOR_CLOCK_SLACK_MS) {
      throw badCursor('ends later than now + within');
    }
    const until = state?.u ?? at + p.within;
    const streams: Stream[] = [];
    for (const [order, window] of p.windows.entries()) {
      const position = state?.p[window];
      if (position === 1) continue;
      streams.push({
        window,
        order,
        span: p.spans[window] as number,
        after: position === undefined ? undefined : { at: position[0], key: position[1] as ConversationKey },
        buffer: [],
        exhausted: false,
      });
    }

    let calls = 0;
    const fill = async (s: Stream): Promise<void> => {
      calls += 1;
      // closesAt in (at, until]  <=>  lastInboundAt in (at - span, until - span]
      const range: InboundRange = { from: at - s.span, to: until - s.span, pageId: p.pageId, limit, after: s.after };
      if (range.to <= range.from) {
        s.exhausted = true;
        return;
      }
      s.buffer = await callStore('listByLastInbound', () => list(range));
      s.exhausted = s.buffer.length < limit;
    };

    const conversations: ClosingConversation[] = [];
    while (conversations.length < limit) {
      const empty = streams.filter((s) => s.buffer.length === 0 && !s.exhausted);
      if (calls + empty.length > MAX_STORE_CALLS_PER_PAGE) break;
      await Promise.all(empty.map(fill));
      const next = earliest(streams);
      if (next === undefined) break;
      const entry = next.buffer.shift() as InboundEntry;
      next.after = { at: entry.state.lastInboundAt, key: entry.key };
      const listed = toListed(entry, next, at, until);
      if (listed !== undefined) conversations.push(listed);
    }

    const more = streams.some((s) => s.buffer.length > 0 || !s.exhausted);
    if (!more) return { conversations };
    const positions: CursorState['p'] = { ...state?.p };
    for (const s of streams) {
      if (s.buffer.length === 0 && s.exhausted) positions[s.window] = 1;
      else if (s.after !== undefined) positions[s.window] = [s.after.at, s.after.key];
    }
    return { conversations, cursor: encodeCursor({ v: CURSOR_VERSION, q: p.fingerprint, u: until, p: positions }) };
  }

  /** The entry as listed, or undefined when it is not: the policy's own end must agree with the range. */
  function toListed(entry: InboundEntry, s: Stream, at: number, until: number): ClosingConversation | undefined {
    const { pageId, psid } = parseConversationKey(entry.key);
    if (!pages.isDeclared(pageId)) return undefined;
    const closesAt = closingWindowEnds(entry.state, policy, at)[s.window];
    // A different end (an ad window outlasting replies, a tag retired sooner) is not in this
    // kind's order: not listed here.
    if (closesAt !== entry.state.lastInboundAt + s.span || closesAt <= at || closesAt > until) return undefined;
    return {
      pageId,
      psid,
      window: s.window,
      closesAt: new Date(closesAt),
      lastInboundAt: new Date(entry.state.lastInboundAt),
    };
  }

  async function expiringSoon(input: ExpiringSoonInput): Promise<ExpiringSoonResult> {
    const o = parseInput(ExpiringSoonSchema, input, 'expiringSoon');
    const p = plan(o, now());
    lister();
    return page(p, o.limit ?? DEFAULT_LIMIT, o.cursor);
  }

  const running = new Set<WindowWatcher>();

  function watchWindows(input: WatchWindowsInput): WindowWatcher {
    const o = parseInput(WatchWindowsSchema, input, 'watchWindows');
    // Refused now rather than on every poll: input the watcher could never run with.
    plan({ within: o.before, pageId: o.pageId, windows: o.windows }, now());
    lister();
    const every = o.every ?? DEFAULT_EVERY_MS;
    const report = (error: unknown, conversation?: ClosingConversation) => {
      try {
        if (o.onError) o.onError(error, conversation);
        else console.error('vonage-messenger watchWindows:', error);
      } catch {
        // A failing error handler must not stop the watcher.
      }
    };

    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last: Promise<void> = Promise.resolve();
    /** A poll asked for but not begun: a second ask joins it (a cron trigger's poll() right after start). */
    let queued: Promise<void> | undefined;

    /**
     * Claims `c`'s window end for this process and calls `onClosing`, unless the window closed,
     * moved or was claimed elsewhere. False when the store failed (reported; the next poll
     * retries what is left unclaimed).
     */
    const announce = async (c: ClosingConversation): Promise<boolean> => {
      const at = now();
      // Right before calling: a window that closed meanwhile is never announced.
      if (c.closesAt.getTime() <= at) return true;
      // One claim per window end: a newer message moves closesAt, so the new window is new.
      const id = `{${c.pageId}}:closing:${c.psid}:${c.window}:${c.closesAt.getTime()}`;
      let won: boolean;
      try {
        won = await callStore('claim', () => store.claim(id, c.closesAt.getTime() - at + CLAIM_SLACK_MS));
      } catch (error) {
        report(error);
        return false;
      }
      if (!won) return true;
      // Since the listing the user may have written (a later window end, announced in its turn),
      // the platform may have closed the conversation, or an ad referral outlasted the window:
      // then this end is not announced. If that read fails, the end is announced as listed: the
      // claim is taken, and no process would announce it again.
      let readFailed = false;
      try {
        const state = await callStore('get', () => store.get(conversationKey(c.pageId, c.psid)));
        const closed = state !== null && state.closedAt !== undefined && state.closedAt >= state.lastInboundAt;
        if (state === null || closed || closingWindowEnds(state, policy, at)[c.window] !== c.closesAt.getTime()) {
          return true;
        }
      } catch (error) {
        report(error);
        readFailed = true;
      }
      try {
        await o.onClosing(c);
      } catch (error) {
        report(error, c);
      }
      return !readFailed;
    };

    const runPoll = async (): Promise<void> => {
      let cursor: string | undefined;
      let current: Plan;
      try {
        // Planned per poll: the windows the policy has may change with time (a retired tag).
        current = plan({ within: o.before, pageId: o.pageId, windows: o.windows }, now());
      } catch (error) {
        report(error);
        return;
      }
      do {
        if (stopped) return;
        let result: ExpiringSoonResult;
        try {
          result = await page(current, MAX_EXPIRING_SOON_LIMIT, cursor);
        } catch (error) {
          report(error);
          return;
        }
        // Claimed one at a time, right before its call: a watcher stopped mid-page leaves the
        // rest unclaimed for the next poll of any process.
        for (const c of result.conversations) {
          if (stopped || !(await announce(c))) return;
        }
        cursor = result.cursor;
      } while (cursor !== undefined);
    };

    const poll = (): Promise<void> => {
      if (queued !== undefined) return queued;
      const run = last.then(() => {
        queued = undefined;
        return stopped ? undefined : runPoll();
      });
      queued = run;
      last = run;
      return run;
    };
    const tick = () => {
      timer = undefined;
      void poll().then(() => {
        if (!stopped) timer = setTimeout(tick, every);
      });
    };
    tick();

    const watcher: WindowWatcher = {
      poll,
      async stop() {
        stopped = true;
        running.delete(watcher);
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        await last;
      },
    };
    running.add(watcher);
    return watcher;
  }

  /** Stops every watcher still running (the messenger is closing). */
  const stopAll = async (): Promise<void> => {
    await Promise.all([...running].map((w) => w.stop()));
  };

  return { expiringSoon, watchWindows, stopAll };
}

/** The stream whose next entry closes first (ties: the order of `CLOSING_WINDOWS`). */
function earliest(streams: readonly Stream[]): Stream | undefined {
  let best: Stream | undefined;
  let bestAt = 0;
  for (const s of streams) {
    const head = s.buffer[0];
    if (head === undefined) continue;
    const closes = head.state.lastInboundAt + s.span;
    if (best === undefined || closes < bestAt || (closes === bestAt && s.order < best.order)) {
      best = s;
      bestAt = closes;
    }
  }
  return best;
}
