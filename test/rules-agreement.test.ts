/**
 * The inbound path and the send path state the same platform facts: for every Vonage code
 * that records something, learning it from a status webhook and learning it from a
 * synchronous answer to a send leave the store in the same state; and a user's message
 * relinks a Page the same way through a webhook and through `messenger.recordInbound`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../src/ids.js';
import { createMessenger } from '../src/messenger.js';
import { memoryStore } from '../src/store/memory.js';
import type { SessionStore } from '../src/store/types.js';
import { signWebhook } from '../src/testing/sign.js';
import { CODE_BY_API_TITLE, PLATFORM_ERRORS } from '../src/webhooks/platform.js';
import { type FakeApi, startFakeApi } from './send/fake-api.js';

const SECRET = 'agreement-secret';
const PAGE = pageId('102290129340398');
const USER = psid('25381719828140932');
const KEY = conversationKey(PAGE, USER);
let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => {
  await api.close();
});

type Start = 'page linked' | 'page unknown' | 'page unlinked earlier';
const STARTS: Start[] = ['page linked', 'page unknown', 'page unlinked earlier'];

async function prepare(start: Start): Promise<SessionStore> {
  const store = memoryStore();
  const t = Date.now();
  await store.recordInbound(KEY, t - 60_000, 'user-message');
  if (start === 'page linked') await store.setPageLinked(PAGE, true, t - 120_000);
  // Unlinked before the user's last message: sends are refused locally, so only the webhook
  // path can learn anything; the row is still compared below on the webhook side alone.
  if (start === 'page unlinked earlier') await store.setPageLinked(PAGE, false, t - 120_000, { errorCode: '1370' });
  return store;
}

/** What the rules care about, without the times (the two paths run a few ms apart). */
async function facts(store: SessionStore) {
  const page = await store.getPage(PAGE);
  const conversation = await store.get(KEY);
  return {
    pageLinked: page === null ? 'unknown' : page.linked,
    pageErrorCode: page?.errorCode,
    closedReason: conversation?.closedReason,
  };
}

const messengerOn = (store: SessionStore) =>
  createMessenger({ apiKey: 'test-api-key', apiSecret: 's', signatureSecret: SECRET, apiHost: api.url, store });

async function viaStatusWebhook(store: SessionStore, code: string): Promise<void> {
  const m = messengerOn(store);
  await m.receive(
    signWebhook(
      {
        channel: 'messenger',
        message_uuid: `status-${code}-${Math.random()}`,
        to: USER,
        from: PAGE,
        timestamp: new Date().toISOString(),
        status: 'rejected',
        error: { type: `https://developer.vonage.com/api-errors/messages#${code}`, title: code, detail: 'refused' },
      },
      SECRET,
    ),
  );
  await m.close();
}

async function viaSyncAnswer(store: SessionStore, title: string): Promise<void> {
  const m = messengerOn(store);
  api.replies.push({
    status: 422,
    body: { type: 'https://developer.vonage.com/api-errors/messages', title, detail: 'refused' },
  });
  await expect(m.sendText({ from: PAGE, to: USER, text: 'Hi' })).rejects.toMatchObject({ status: 422 });
  await m.close();
}

describe('the status webhook and a synchronous 422 agree on what a code records', () => {
  const rows = Object.entries(CODE_BY_API_TITLE).flatMap(([title, code]) =>
    STARTS.slice(0, 2).map((start) => ({ title, code, start })),
  );
  it.each(rows)('$code ("$title") from "$start"', async ({ title, code, start }) => {
    const byWebhook = await prepare(start);
    await viaStatusWebhook(byWebhook, code);
    const bySend = await prepare(start);
    await viaSyncAnswer(bySend, title);
    expect(await facts(bySend)).toEqual(await facts(byWebhook));
  });

  it('every title the send path understands is a code whose row records something', () => {
    for (const code of Object.values(CODE_BY_API_TITLE)) expect(PLATFORM_ERRORS[code]?.effect).not.toBe('none');
  });
});

describe('every code with an effect records the documented state on the webhook path', () => {
  const expected: Record<string, (start: Start) => Awaited<ReturnType<typeof facts>>> = {
    '1340': (s) => ({ ...base(s), closedReason: 'closed_by_platform' }),
    '1170': (s) => ({ ...base(s), closedReason: 'user_unavailable' }),
    '1300': (s) => ({ ...base(s), closedReason: 'user_unavailable' }),
    '1430': (s) => ({ ...base(s), closedReason: 'user_unavailable' }),
    '1370': () => ({ pageLinked: false, pageErrorCode: '1370', closedReason: undefined }),
    // Only a Page known linked loses its link on 1420; an unknown Page stays unknown.
    '1420': (s) =>
      s === 'page linked' ? { pageLinked: false, pageErrorCode: '1420', closedReason: undefined } : base(s),
  };
  function base(start: Start) {
    if (start === 'page linked') return { pageLinked: true, pageErrorCode: undefined, closedReason: undefined };
    if (start === 'page unknown') return { pageLinked: 'unknown', pageErrorCode: undefined, closedReason: undefined };
    return { pageLinked: false, pageErrorCode: '1370', closedReason: undefined };
  }
  // Every row of PLATFORM_ERRORS; a row whose effect is 'none' changes nothing. (1021's tag
  // mark needs a HUMAN_AGENT send first: test/messenger-webhooks.test.ts covers it, and here it
  // must not touch the conversation or the Page.)
  const rows = Object.entries(PLATFORM_ERRORS).flatMap(([code, row]) =>
    STARTS.map((start) => ({
      code,
      start,
      records: row.effect === 'none' || row.effect === 'tag_unavailable' ? 'nothing' : 'state',
    })),
  );
  it.each(rows)('$code from "$start" records $records', async ({ code, start, records }) => {
    if (records === 'nothing') expected[code] = base;
    expect(Object.keys(expected)).toContain(code);
    const store = await prepare(start);
    await viaStatusWebhook(store, code);
    expect(await facts(store)).toEqual(expected[code]?.(start));
  });
});

describe('a user message relinks a Page the same way on both inbound paths', () => {
  it.each(STARTS)('from "%s"', async (start) => {
    const byWebhook = await prepare(start);
    const m1 = messengerOn(byWebhook);
    await m1.receive(
      signWebhook(
        {
          channel: 'messenger',
          message_uuid: 'new-message',
          to: PAGE,
          from: USER,
          timestamp: new Date().toISOString(),
          message_type: 'text',
          text: 'back',
        },
        SECRET,
      ),
    );
    const byImport = await prepare(start);
    const m2 = messengerOn(byImport);
    await m2.recordInbound({ from: USER, to: PAGE, timestamp: new Date(), messageUuid: 'new-message' });
    expect(await facts(byImport)).toEqual(await facts(byWebhook));
    expect((await facts(byWebhook)).pageLinked).toBe(true);
    await m1.close();
    await m2.close();
  });
});
