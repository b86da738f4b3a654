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
