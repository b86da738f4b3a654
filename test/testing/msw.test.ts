import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitError, VonageApiError } from '../../src/errors.js';
import { pageId, psid } from '../../src/ids.js';
import { createMessenger, type Messenger } from '../../src/messenger.js';
import {
  type MockedSend,
  messengerHandlers,
  throttledResponse,
  unauthorizedResponse,
  vonageErrorResponse,
} from '../../src/testing/msw.js';

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const PAGE = pageId('102290129340398');
const USER = psid('25381719828140932');
const API = 'https://api.nexmo.com';

let answer: (send: MockedSend) => Response | undefined = () => undefined;
const sent: MockedSend[] = [];
const server = setupServer(
  ...messengerHandlers({
    onSend: (send) => {
      sent.push(send);
      return answer(send);
    },
  }),
);

let messenger: Messenger;

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(async () => {
  sent.length = 0;
  answer = () => undefined;
  await messenger?.close();
});
afterAll(() => server.close());

async function freshMessenger() {
  messenger = createMessenger({ applicationId: randomUUID(), privateKey, retry: false });
  await messenger.recordInbound({ from: USER, to: PAGE, timestamp: new Date(), messageUuid: randomUUID() });
  return messenger;
}

const post = (body: unknown, headers: Record<string, string> = { authorization: 'Bearer x.y.z' }) =>
  fetch(`${API}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('messengerHandlers', () => {
  it('answers a messenger send with 202 and shows it to onSend', async () => {
    const m = await freshMessenger();
    const result = await m.sendText({ from: PAGE, to: USER, text: 'Hello!', clientRef: 'r-1' });
    expect(sent).toHaveLength(1);
    expect(result.messageUuid).toBe(sent[0]?.messageUuid);
    expect(sent[0]?.message).toEqual({
      messageType: 'text',
      from: PAGE,
      to: USER,
      text: 'Hello!',
      category: 'response',
      clientRef: 'r-1',
    });
    expect(sent[0]?.request.headers.get('authorization')).toMatch(/^Bearer /);
  });

  it('lets onSend answer 429, which the messenger turns into RateLimitError', async () => {
    const m = await freshMessenger();
    answer = () => throttledResponse(2);
    const error = await m.sendText({ from: PAGE, to: USER, text: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(2000);
  });

  it('lets onSend answer any RFC 7807 error, read back as VonageApiError', async () => {
    const m = await freshMessenger();
    answer = () => vonageErrorResponse(500, { title: 'Internal error', detail: 'Try again later' });
    const error = await m.sendText({ from: PAGE, to: USER, text: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VonageApiError);
    expect(error).toMatchObject({ status: 500, title: 'Internal error', detail: 'Try again later' });
  });

  it('answers 401 without credentials, and unauthorizedResponse() the same way', async () => {
    const missing = await post({}, {});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ title: 'You did not provide correct credentials.' });
    expect(unauthorizedResponse().status).toBe(401);
    expect(sent).toHaveLength(0);
  });

  it('answers 422 like Vonage to a body Vonage would refuse, without calling onSend', async () => {
    const response = await post({
      channel: 'messenger',
      message_type: 'text',
      to: USER,
      from: PAGE,
      text: 'x'.repeat(641),
    });
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      title: 'Invalid params',
      invalid_parameters: [{ name: 'text', reason: 'must be at most 640 characters.' }],
    });
    expect((await post('not json')).status).toBe(422);
    expect(sent).toHaveLength(0);
  });

  it('serves another apiHost and can skip validation', async () => {
    const local = setupServer(...messengerHandlers({ apiHost: 'https://api-eu.vonage.com/', validate: false }));
    server.close();
    local.listen({ onUnhandledRequest: 'error' });
    try {
      const response = await fetch('https://api-eu.vonage.com/v1/messages', {
        method: 'POST',
        headers: { authorization: 'Basic a2V5OnNlY3JldA==' },
        body: JSON.stringify({ channel: 'sms' }),
      });
      expect(response.status).toBe(202);
    } finally {
      local.close();
      server.listen({ onUnhandledRequest: 'error' });
    }
  });
});

describe('the answer helpers refuse what no Vonage answer carries', () => {
  it('refuses a Retry-After that is negative or not whole', () => {
    expect(() => throttledResponse(-3)).toThrow(
      new RangeError('throttledResponse: retryAfterSeconds must be an integer ≥ 0, got -3'),
    );
    expect(() => throttledResponse(0.5)).toThrow(RangeError);
    expect(throttledResponse(0).headers.get('retry-after')).toBe('0');
  });

  it('refuses an error status outside 400–599', () => {
    const problem = { title: 'Odd', detail: 'An odd answer' };
    expect(() => vonageErrorResponse(99, problem)).toThrow(
      new RangeError('vonageErrorResponse: status must be an integer from 400 to 599, got 99'),
    );
    expect(() => vonageErrorResponse(202, problem)).toThrow(RangeError);
    expect(() => vonageErrorResponse('500' as never, problem)).toThrow(TypeError);
    expect(vonageErrorResponse(503, problem).status).toBe(503);
  });
});
