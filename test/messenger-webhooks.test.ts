/**
 * The messenger wired to the webhook layer: what a signed inbound message or a refusal in a
 * status webhook does to the next send.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PageNotLinkedError, ValidationError, WebhookVerificationError, WindowClosedError } from '../src/errors.js';
import { pageId, psid } from '../src/ids.js';
import { createMessenger, type Messenger, type MessengerOptions } from '../src/messenger.js';
import { memoryStore } from '../src/store/memory.js';
import { inboundText, messageStatus } from '../src/testing/builders.js';
import { signWebhook } from '../src/testing/sign.js';
import type { PlatformErrorEvent } from '../src/webhooks/index.js';
import { type FakeApi, startFakeApi, testKeys } from './send/fake-api.js';

const { privateKey } = testKeys();
const applicationId = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
const SECRET = 'signature-secret-for-tests-0123456789';
const PAGE = pageId('102290129340398');
const OTHER_PAGE = pageId('100841475479486');
const USER = psid('25381719828140932');
const T0 = Date.parse('2026-05-01T10:00:00Z');
const HOUR = 60 * 60 * 1000;

let api: FakeApi;
let clock = T0;
const open: Messenger[] = [];

function messenger(options: Partial<MessengerOptions> = {}): Messenger {
  const m = createMessenger({
    applicationId,
    privateKey,
    signatureSecret: SECRET,
    apiHost: api.url,
    now: () => new Date(clock),
    store: memoryStore({ now: () => clock }),
    ...options,
  });
  open.push(m);
  return m;
}

const signed = (body: object) => signWebhook(body, SECRET, { issuedAt: clock, applicationId });
const userWrites = (m: Messenger, pageIdValue: string = PAGE) =>
  m.receive(signed(inboundText({ pageId: pageIdValue, psid: USER, text: 'Hi', timestamp: clock - 1000 })));
const refusal = (m: Messenger, code: number) =>
  m.receive(signed(messageStatus({ pageId: PAGE, psid: USER, status: 'rejected', error: code, timestamp: clock })));

beforeAll(async () => {
  api = await startFakeApi();
});
afterEach(async () => {
  clock = T0;
  api.requests.length = 0;
  for (const m of open.splice(0)) await m.close();
});
afterAll(async () => {
  await api.close();
});

describe('receive', () => {
  it('a signed inbound message opens the window for a reply', async () => {
    const m = messenger();
    const { event, duplicate } = await userWrites(m);
    expect(duplicate).toBe(false);
    expect(event).toMatchObject({ kind: 'message', psid: USER, pageId: PAGE });
    await m.sendText({ from: PAGE, to: USER, text: 'Hello!' });
    expect(api.requests).toHaveLength(1);
  });

  it('without a signature secret, receiving is refused', async () => {
    const m = messenger({ signatureSecret: undefined });
    await expect(userWrites(m)).rejects.toBeInstanceOf(ValidationError);
  });

  it('a webhook for an undeclared Page is refused and recorded nowhere', async () => {
    const m = messenger({ pages: [PAGE] });
    await expect(userWrites(m, OTHER_PAGE)).rejects.toBeInstanceOf(WebhookVerificationError);
    expect(await m.canSend({ from: PAGE, to: USER })).toMatchObject({ reason: 'no_conversation' });
  });

  it('webhookHandler answers 200 and calls onMessage once', async () => {
    const m = messenger();
    const onMessage = vi.fn();
    const handler = m.webhookHandler({ onMessage });
    const { headers, body } = signed(inboundText({ pageId: PAGE, psid: USER, timestamp: clock - 1000 }));
    const response = await handler(new Request('http://localhost/webhooks/inbound', { method: 'POST', headers, body }));
    expect(response.status).toBe(200);
    expect(onMessage).toHaveBeenCalledTimes(1);
  });
});

describe('platform refusals reach the next send', () => {
  it('1340 closes the conversation: the next reply is refused locally, HUMAN_AGENT still offered', async () => {
    const m = messenger();
    const seen: PlatformErrorEvent[] = [];
    m.onPlatformError((e) => {
      seen.push(e);
    });
    await userWrites(m);
    await refusal(m, 1340);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: '1340', kind: 'window_closed', pageId: PAGE, psid: USER });
    const error = (await m.sendText({ from: PAGE, to: USER, text: 'x' }).catch((e: unknown) => e)) as WindowClosedError;
    expect(error).toBeInstanceOf(WindowClosedError);
    expect(error.reason).toBe('closed_by_platform');
    expect(error.alternatives.map((a) => a.tag)).toEqual(['HUMAN_AGENT']);
    expect(api.requests).toHaveLength(0);
  });

  it('1370 unlinks the Page: PageNotLinkedError with zero requests until a user writes again', async () => {
    const m = messenger();
    const listener = vi.fn();
    m.onPlatformError(listener);
    await userWrites(m);
    clock += 1000;
    await refusal(m, 1370);
    expect(listener).toHaveBeenCalledWith(expect.objectContaining({ code: '1370', kind: 'page_unlinked' }));
    expect(await m.pageStatus(PAGE)).toMatchObject({ state: 'unlinked', linked: false, errorCode: '1370' });
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x' })).rejects.toBeInstanceOf(PageNotLinkedError);
    expect(api.requests).toHaveLength(0);
    clock += 60_000;
    await userWrites(m);
    expect((await m.pageStatus(PAGE)).state).toBe('linked');
    await m.sendText({ from: PAGE, to: USER, text: 'x' });
    expect(api.requests).toHaveLength(1);
  });

  it('1430 marks the user unavailable', async () => {
    const m = messenger();
    await userWrites(m);
    await refusal(m, 1430);
    await expect(m.sendText({ from: PAGE, to: USER, text: 'x', tag: 'HUMAN_AGENT' })).rejects.toMatchObject({
      reason: 'user_unavailable',
    });
  });

  it('an unsubscribed listener hears nothing, and a throwing listener does not fail the webhook', async () => {
    const m = messenger();
    const quiet = vi.fn();
    const off = m.onPlatformError(quiet);
    m.onPlatformError(() => {
      throw new Error('listener bug');
    });
    m.onPlatformError(async () => {
      throw new Error('async listener bug');
    });
    off();
    await userWrites(m);
    await expect(refusal(m, 1021)).resolves.toMatchObject({ duplicate: false });
    expect(quiet).not.toHaveBeenCalled();
  });
});

describe('Click-to-Messenger ad referrals', () => {
  it('recordAdReferral keeps replies allowed for 7 days from the ad message; later messages do not move it', async () => {
    const m = messenger();
    await userWrites(m);
    const adAt = clock - 1000;
    const snapshot = await m.recordAdReferral({ from: USER, to: PAGE, timestamp: new Date(adAt) });
    expect(snapshot.adReferralAt).toEqual(new Date(adAt));
    clock += 5 * 24 * HOUR;
    await userWrites(m);
    clock = adAt + 7 * 24 * HOUR - 60_000 - 1;
    expect(await m.canSend({ from: PAGE, to: USER })).toMatchObject({ allowed: true, window: 'ad_referral' });
    clock += 1;
    expect(await m.canSend({ from: PAGE, to: USER })).toMatchObject({ allowed: false, reason: 'window_closed' });
    await expect(m.sendText({ from: PAGE, to: USER, text: 'day 7' })).rejects.toBeInstanceOf(WindowClosedError);
  });

  it('records the ad message itself when the webhook has not arrived yet, and refuses bad input', async () => {
    const m = messenger();
    await m.recordAdReferral({ from: USER, to: PAGE, timestamp: new Date(clock - 1000), messageUuid: 'from-ad' });
    clock += 3 * 24 * HOUR;
    const { messageUuid } = await m.sendText({ from: PAGE, to: USER, text: 'still within the ad window' });
    expect(messageUuid).toBeTruthy();
    await expect(m.recordAdReferral({ from: USER, to: PAGE, timestamp: new Date(Number.NaN) })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      m.recordAdReferral({ from: 'not-a-psid', to: PAGE, timestamp: new Date(clock) } as never),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('1021 to a HUMAN_AGENT send', () => {
  const humanAgentRefused = (m: Messenger, messageUuid: string) =>
    m.receive(
      signed(
        messageStatus({ pageId: PAGE, psid: USER, messageUuid, status: 'rejected', error: 1021, timestamp: clock }),
      ),
    );

  it('marks HUMAN_AGENT unavailable for the Page until markTagAvailable', async () => {
    const m = messenger();
    await userWrites(m);
    clock += 2 * 24 * HOUR;
    const { messageUuid } = await m.sendText({ from: PAGE, to: USER, text: 'Sam here', tag: 'HUMAN_AGENT' });
    const result = await humanAgentRefused(m, messageUuid);
    expect(result.platformError).toMatchObject({ kind: 'invalid_tag', action: 'tag_unavailable' });
    const status = await m.pageStatus(PAGE);
    expect(status.unavailableTags).toEqual([
      { tag: 'HUMAN_AGENT', since: new Date(clock), errorCode: '1021', errorDetail: expect.any(String) },
    ]);
    const refusal = await m.canSend({ from: PAGE, to: USER });
    expect(refusal).toMatchObject({ allowed: false, reason: 'window_closed', alternatives: [] });
    expect(await m.canSend({ from: PAGE, to: USER, tag: 'HUMAN_AGENT' })).toMatchObject({
      allowed: false,
      reason: 'tag_unavailable',
    });
    const sent = api.requests.length;
    await expect(m.sendText({ from: PAGE, to: USER, text: 'again', tag: 'HUMAN_AGENT' })).rejects.toBeInstanceOf(
      WindowClosedError,
    );
    expect(api.requests).toHaveLength(sent);
    // A retried copy of the same status changes nothing and still names HUMAN_AGENT.
    expect((await humanAgentRefused(m, messageUuid)).platformError?.action).toBe('tag_unavailable');
    clock += 1;
    await m.markTagAvailable(PAGE);
    expect((await m.pageStatus(PAGE)).unavailableTags).toEqual([]);
    expect(await m.canSend({ from: PAGE, to: USER, tag: 'HUMAN_AGENT' })).toMatchObject({ allowed: true });
  });

  it('leaves the tag alone for a 1021 to a message that was not a HUMAN_AGENT send, or with learnTagRefusals: false', async () => {
    const m = messenger();
    await userWrites(m);
    const { messageUuid } = await m.sendText({ from: PAGE, to: USER, text: 'plain reply' });
    expect((await humanAgentRefused(m, messageUuid)).platformError?.action).toBe('none');
    // Its retry must not mistake the probe's own mark for a HUMAN_AGENT send.
    expect((await humanAgentRefused(m, messageUuid)).platformError?.action).toBe('none');
    expect((await m.pageStatus(PAGE)).unavailableTags).toEqual([]);

    const off = messenger({ learnTagRefusals: false });
    await userWrites(off);
    const sent = await off.sendText({ from: PAGE, to: USER, text: 'Sam here', tag: 'HUMAN_AGENT' });
    expect((await humanAgentRefused(off, sent.messageUuid)).platformError?.action).toBe('none');
    expect(await off.canSend({ from: PAGE, to: USER, tag: 'HUMAN_AGENT' })).toMatchObject({ allowed: true });
  });
});

describe('every Messenger-relevant code has a kind and an effect', () => {
  it.each([
    ['1170', 'user_unavailable', 'user_unavailable'],
    ['1180', 'transient', 'none'],
    ['1282', 'rejected_by_provider', 'none'],
    ['1330', 'delivery_failed', 'none'],
    ['1360', 'expired', 'none'],
    ['2001', 'blocked', 'none'],
    ['1010', 'invalid_request', 'none'],
    ['1030', 'internal_error', 'none'],
    ['1431', 'invalid_request', 'none'],
    ['1350', 'other', 'none'],
  ])('%s is %s and records %s', async (code, kind, action) => {
    const m = messenger();
    await userWrites(m);
    const result = await refusal(m, Number(code));
    expect(result.platformError).toMatchObject({ code, kind, action });
    const decision = await m.canSend({ from: PAGE, to: USER });
    expect(decision.allowed).toBe(action === 'none');
    if (!decision.allowed) expect(decision.reason).toBe('user_unavailable');
  });
});
