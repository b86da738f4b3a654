import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { tokenGenerate } from '@vonage/jwt';
import jwt from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, PLATFORM_RULES, type Sandbox } from '../../src/testing/sandbox.js';
import { verifyWebhookSignature } from '../../src/webhooks/verify.js';
import { type Receiver, startReceiver } from './receiver.js';

const SECRET = 'sandbox-test-secret';
const APP_ID = randomUUID();
const PAGE = '102290129340398';
const USER = '25381719828140932';
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
// Before Meta retired ACCOUNT_UPDATE (2026-04-27), so both sides of that date can be tested.
const START = new Date('2026-03-02T09:00:00.000Z');

const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const otherKeys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

const bearer = (privateKey = keys.privateKey, applicationId = APP_ID) =>
  `Bearer ${tokenGenerate(applicationId, privateKey, { ttl: 900 })}`;

let receiver: Receiver;
let sandbox: Sandbox;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(async () => {
  receiver.received.length = 0;
  sandbox = await createSandbox({
    signatureSecret: SECRET,
    applicationId: APP_ID,
    publicKey: keys.publicKey,
    apiKey: 'abcd1234',
    webhookUrl: `${receiver.url}/webhooks/inbound`,
    statusUrl: `${receiver.url}/webhooks/status`,
    now: () => START,
  });
});
afterEach(async () => {
  await sandbox.close();
});

interface Answer {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** A raw send, as a client with no guard at all would make it. */
async function rawSend(body: unknown, authorization: string | null = bearer()): Promise<Answer> {
  const response = await fetch(`${sandbox.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

const text = (extra: Record<string, unknown> = {}) => ({
  channel: 'messenger',
  message_type: 'text',
  to: USER,
  from: PAGE,
  text: 'Your order has shipped.',
  ...extra,
});

const statusesFor = (uuid: unknown) =>
  receiver.received.filter((w) => w.path === '/webhooks/status' && w.json.message_uuid === uuid).map((w) => w.json);

async function sendAndSettle(body: unknown) {
  const answer = await rawSend(body);
  await sandbox.settled();
  return { answer, statuses: statusesFor(answer.body.message_uuid) };
}

describe('createSandbox: sends inside the rules', () => {
  it('answers 202 with a message_uuid and posts submitted, delivered and read for a reply in the window', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER, text: 'Where is my order?' });
    sandbox.advance(HOUR);
    const { answer, statuses } = await sendAndSettle(text({ client_ref: 'order-42' }));

    expect(answer.status).toBe(202);
    expect(answer.body.message_uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(statuses.map((s) => s.status)).toEqual(['submitted', 'delivered', 'read']);
    expect(statuses[0]).toMatchObject({
      channel: 'messenger',
      to: USER,
      from: PAGE,
      client_ref: 'order-42',
      timestamp: new Date(START.getTime() + HOUR).toISOString(),
    });
    expect(statuses.every((s) => s.error === undefined)).toBe(true);
  });

  it('signs every webhook so that the SDK verifier accepts it', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    await sendAndSettle(text());
    expect(receiver.received).toHaveLength(4);
    for (const webhook of receiver.received) {
      const claims = await verifyWebhookSignature(
        { headers: webhook.headers, body: webhook.body },
        { signatureSecret: SECRET, apiKey: 'abcd1234', applicationId: APP_ID, now: () => START.getTime() },
      );
      expect(claims.iss).toBe('Vonage');
    }
  });

  it('posts a signed v1 inbound webhook for userSays and returns the app answer', async () => {
    const messageUuid = randomUUID();
    const status = await sandbox.userSays({ page: PAGE, psid: USER, text: 'hi', messageUuid });
    expect(status).toBe(200);
    expect(receiver.received[0]?.path).toBe('/webhooks/inbound');
    expect(receiver.received[0]?.json).toEqual({
      channel: 'messenger',
      message_uuid: messageUuid,
      to: PAGE,
      from: USER,
      timestamp: START.toISOString(),
      message_type: 'text',
      text: 'hi',
    });
    expect(receiver.received[0]?.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('knows the user wrote even when the app refuses the inbound webhook', async () => {
    receiver.answerWith('/webhooks/inbound', 401);
    try {
      expect(await sandbox.userSays({ page: PAGE, psid: USER })).toBe(401);
      expect(sandbox.conversation(PAGE, USER)?.lastInboundAt).toBe(START.getTime());
    } finally {
      receiver.answerWith('/webhooks/inbound', 200);
    }
  });

  it('stops the status sequence at deliverUntil and records each webhook with the app answer', async () => {
    const short = await createSandbox({
      signatureSecret: SECRET,
      deliverUntil: 'delivered',
      webhookUrl: `${receiver.url}/webhooks/inbound`,
      statusUrl: `${receiver.url}/short`,
    });
    try {
      await short.userSays({ page: PAGE, psid: USER });
      await fetch(`${short.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: bearer(), 'content-type': 'application/json' },
        body: JSON.stringify(text()),
      });
      await short.settled();
      expect(short.webhooks.map((w) => [w.kind, w.status, w.responseStatus])).toEqual([
        ['inbound', undefined, 200],
        ['status', 'submitted', 200],
        ['status', 'delivered', 200],
      ]);
    } finally {
      await short.close();
    }
  });

  it('sends status webhooks to a per-message webhook_url in the webhook_version asked for', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    const answer = await rawSend(text({ webhook_url: `${receiver.url}/custom`, webhook_version: 'v0.1' }));
    await sandbox.settled();
    const custom = receiver.received.filter((w) => w.path === '/custom').map((w) => w.json);
    expect(custom.map((s) => s.status)).toEqual(['submitted', 'delivered', 'read']);
    expect(custom[0]).toMatchObject({
      message_uuid: answer.body.message_uuid,
      to: { type: 'messenger', id: USER },
      from: { type: 'messenger', id: PAGE },
    });
  });
});

describe('createSandbox: Messenger rules enforced by the platform itself', () => {
  const rejection = (statuses: Record<string, unknown>[]) => {
    expect(statuses.map((s) => s.status)).toEqual(['rejected']);
    return statuses[0]?.error as Record<string, unknown>;
  };

  it('rejects a raw send 24 hours after the user last wrote with 1340, although it answered 202', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.advance(DAY);
    const { answer, statuses } = await sendAndSettle(text());
    expect(answer.status).toBe(202);
    expect(rejection(statuses)).toEqual({
      type: 'https://developer.nexmo.com/api-errors/messages-olympus#1340',
      title: '1340',
      detail: 'Outside of the allowed window - This message is sent outside of allowed response window.',
      instance: expect.any(String),
    });
    expect(sandbox.requests.at(-1)?.verdict).toEqual({
      delivered: false,
      code: 1340,
      detail: 'Outside of the allowed window - This message is sent outside of allowed response window.',
    });
  });

  it('closes the window at exactly 24 hours, with no client-side safety margin', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.advance(DAY - 1);
    expect((await sendAndSettle(text())).statuses.map((s) => s.status)).toContain('delivered');
  });

  it('opens the window again when the user writes again', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.advance(2 * DAY);
    await sandbox.userSays({ page: PAGE, psid: USER, text: 'still there?' });
    expect((await sendAndSettle(text())).statuses.map((s) => s.status)).toContain('delivered');
  });

  it('never lets an older message shorten the window', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.advance(20 * HOUR);
    await sandbox.userSays({ page: PAGE, psid: USER, at: new Date(START.getTime() - 10 * HOUR) });
    expect(sandbox.conversation(PAGE, USER)?.lastInboundAt).toBe(START.getTime());
  });

  it('rejects a send to a user who never wrote to this Page with 1430', async () => {
    await sandbox.userSays({ page: '1111', psid: USER });
    const { statuses } = await sendAndSettle(text());
    expect(rejection(statuses).title).toBe('1430');
  });

  it('allows HUMAN_AGENT for 7 days after the user wrote, then rejects it with 1340', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    const tagged = text({ messenger: { category: 'message_tag', tag: 'HUMAN_AGENT' } });
    sandbox.advance(6 * DAY);
    expect((await sendAndSettle(tagged)).statuses.map((s) => s.status)).toContain('delivered');
    sandbox.advance(DAY);
    expect(rejection((await sendAndSettle(tagged)).statuses).title).toBe('1340');
  });

  it('rejects HUMAN_AGENT with 1021 when Meta has not approved the app for it', async () => {
    const strict = await createSandbox({
      signatureSecret: SECRET,
      humanAgent: false,
      webhookUrl: `${receiver.url}/webhooks/inbound`,
      statusUrl: `${receiver.url}/strict`,
    });
    try {
      await strict.userSays({ page: PAGE, psid: USER });
      await fetch(`${strict.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: bearer(), 'content-type': 'application/json' },
        body: JSON.stringify(text({ messenger: { category: 'message_tag', tag: 'HUMAN_AGENT' } })),
      });
      await strict.settled();
      const status = receiver.received.find((w) => w.path === '/strict')?.json;
      expect(status).toMatchObject({
        status: 'rejected',
        error: { title: '1021', detail: 'Invalid tag - The tag value is invalid.' },
      });
    } finally {
      await strict.close();
    }
  });

  it('allows ACCOUNT_UPDATE before its retirement and rejects it with 1021 after 2026-04-27', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    const tagged = text({ messenger: { category: 'message_tag', tag: 'ACCOUNT_UPDATE' } });
    sandbox.advance(3 * DAY);
    expect((await sendAndSettle(tagged)).statuses.map((s) => s.status)).toContain('delivered');
    sandbox.advance(60 * DAY);
    expect(rejection((await sendAndSettle(tagged)).statuses).title).toBe('1021');
  });

  it('rejects a tag Meta retired in 2020 and an unknown tag with 1021', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    for (const tag of ['SHIPPING_UPDATE', 'NOT_A_TAG']) {
      const { statuses } = await sendAndSettle(text({ messenger: { category: 'message_tag', tag } }));
      expect(rejection(statuses).title).toBe('1021');
    }
  });

  it('rejects every send from an unlinked Page with 1370 until it is linked again', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.unlinkPage(PAGE);
    expect(rejection((await sendAndSettle(text())).statuses)).toMatchObject({
      title: '1370',
      detail: 'Expired access Token - Please reauthenticate your Facebook Page with Vonage.',
    });
    sandbox.linkPage(PAGE);
    expect((await sendAndSettle(text())).statuses.map((s) => s.status)).toContain('delivered');
  });

  it('rejects a send from a Page outside `pages` with 1420 (invalid sender)', async () => {
    const scoped = await createSandbox({
      signatureSecret: SECRET,
      pages: ['999'],
      webhookUrl: `${receiver.url}/webhooks/inbound`,
      statusUrl: `${receiver.url}/scoped`,
    });
    try {
      await scoped.userSays({ page: PAGE, psid: USER });
      await fetch(`${scoped.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: bearer(), 'content-type': 'application/json' },
        body: JSON.stringify(text()),
      });
      await scoped.settled();
      expect(receiver.received.find((w) => w.path === '/scoped')?.json).toMatchObject({
        status: 'rejected',
        error: { title: '1420' },
      });
    } finally {
      await scoped.close();
    }
  });

  it('keeps its rules table deeply frozen, so that no test can change the rules of every sandbox', async () => {
    const humanAgent = PLATFORM_RULES.tags.HUMAN_AGENT as { windowMs: number | null };
    expect(() => {
      humanAgent.windowMs = 1000;
    }).toThrow(TypeError);
    expect(PLATFORM_RULES.tags.HUMAN_AGENT?.windowMs).toBe(7 * DAY);
    for (const rule of Object.values(PLATFORM_RULES.tags)) expect(Object.isFrozen(rule)).toBe(true);
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.advance(HOUR);
    expect(sandbox.judge({ from: PAGE, to: USER, tag: 'HUMAN_AGENT' })).toEqual({ delivered: true });
  });
});

describe('createSandbox: authentication', () => {
  const refused = async (authorization: string | null) => {
    const answer = await rawSend(text(), authorization);
    expect(answer.status).toBe(401);
    expect(answer.contentType).toBe('application/problem+json');
    expect(answer.body).toEqual({
      type: 'https://developer.nexmo.com/api-errors/#unathorized',
      title: 'You did not provide correct credentials.',
      detail: "Check that you're using the correct credentials, and that your account has this feature enabled",
      instance: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  };

  it('answers 401 without credentials', () => refused(null));
  it('answers 401 to a JWT signed by another private key', () => refused(bearer(otherKeys.privateKey)));
  it('answers 401 to a JWT for another application', () => refused(bearer(keys.privateKey, randomUUID())));
  it('answers 401 to an expired JWT', () => {
    const now = Math.floor(Date.now() / 1000);
    const token = jwt.sign(
      { application_id: APP_ID, iat: now - 3600, exp: now - 60, jti: randomUUID() },
      keys.privateKey,
      {
        algorithm: 'RS256',
      },
    );
    return refused(`Bearer ${token}`);
  });
  it('answers 401 to an HS256 token', () => {
    const token = jwt.sign({ application_id: APP_ID, iat: Math.floor(Date.now() / 1000) }, 'secret', {
      algorithm: 'HS256',
    });
    return refused(`Bearer ${token}`);
  });
  it('answers 401 to a token with neither iat nor exp', () => {
    const token = jwt.sign({ application_id: APP_ID }, keys.privateKey, { algorithm: 'RS256', noTimestamp: true });
    return refused(`Bearer ${token}`);
  });

  it('checks Basic credentials when it was given some', async () => {
    const basic = await createSandbox({ signatureSecret: SECRET, basicAuth: { apiKey: 'key1', apiSecret: 's3cret' } });
    try {
      const send = (user: string) =>
        fetch(`${basic.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(user).toString('base64')}` },
          body: JSON.stringify(text()),
        });
      expect((await send('key1:wrong')).status).toBe(401);
      expect((await send('key1:s3cret')).status).toBe(202);
      expect(basic.requests.map((r) => r.auth)).toEqual(['basic', 'basic']);
    } finally {
      await basic.close();
    }
  });

  it('records the credential kind of each request, never the credential', async () => {
    await rawSend(text());
    await rawSend(text(), null);
    expect(sandbox.requests.map((r) => [r.auth, r.status])).toEqual([
      ['jwt', 202],
      ['none', 401],
    ]);
    expect(JSON.stringify(sandbox.requests)).not.toContain('Bearer');
  });
});

describe('createSandbox: validation like Vonage (422, RFC 7807)', () => {
  const invalid = async (body: unknown) => {
    const answer = await rawSend(body);
    expect(answer.status).toBe(422);
    expect(answer.contentType).toBe('application/problem+json');
    expect(answer.body.instance).toEqual(expect.any(String));
    return answer.body;
  };

  it('refuses text over 640 characters, counting an emoji as one', async () => {
    expect(await invalid(text({ text: 'x'.repeat(641) }))).toMatchObject({
      title: 'Invalid params',
      invalid_parameters: [{ name: 'text', reason: 'must be at most 640 characters.' }],
    });
    expect((await rawSend(text({ text: '😀'.repeat(640) }))).status).toBe(202);
  });

  it('refuses an image without image.url', async () => {
    expect(await invalid({ ...text(), message_type: 'image', text: undefined })).toMatchObject({
      title: 'Invalid params',
      invalid_parameters: [{ name: 'image.url', reason: 'is required.' }],
    });
  });

  it('refuses an unknown messenger.category', async () => {
    expect(await invalid(text({ messenger: { category: 'marketing' } }))).toMatchObject({
      title: 'Invalid channel parameters',
      invalid_parameters: [
        { name: 'messenger.category', reason: 'Must be one of `response`, `update` or `message_tag`.' },
      ],
    });
  });

  it('refuses message_tag without a tag', async () => {
    expect(await invalid(text({ messenger: { category: 'message_tag' } }))).toMatchObject({
      title: 'Invalid channel parameters',
      invalid_parameters: [{ name: 'messenger.tag', reason: 'is required when `category` is `message_tag`.' }],
    });
  });

  it('refuses a body that is not JSON, another channel, a bad message_type, to, from and client_ref', async () => {
    expect((await invalid('{"channel": ')).title).toBe('The request body did not contain valid JSON');
    expect((await invalid(text({ channel: 'whatsapp' }))).title).toBe('Unsupported channel');
    expect((await invalid(text({ message_type: 'template' }))).title).toBe('Invalid message type');
    expect((await invalid(text({ to: '' }))).title).toBe('Invalid recipient');
    expect((await invalid(text({ from: 'x'.repeat(51) }))).title).toBe('Invalid sender');
    expect((await invalid(text({ client_ref: 'r'.repeat(101) }))).title).toBe('Invalid client reference');
    expect(
      (await invalid({ ...text(), message_type: 'audio', audio: { url: 'https://a' } })).invalid_parameters,
    ).toEqual([{ name: 'audio.url', reason: 'must be between 10 and 2000 characters.' }]);
  });

  it('posts no status webhook for a refused request', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    await invalid(text({ text: '' }));
    await sandbox.settled();
    expect(receiver.received.filter((w) => w.path === '/webhooks/status')).toEqual([]);
  });

  it('answers 404 elsewhere, 405 to another method and 413 to a huge body', async () => {
    expect((await fetch(`${sandbox.url}/v0.1/messages`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${sandbox.url}/v1/messages`)).status).toBe(405);
    const small = await createSandbox({ signatureSecret: SECRET, maxBodyBytes: 100 });
    try {
      const answer = await fetch(`${small.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: bearer() },
        body: JSON.stringify(text({ text: 'y'.repeat(500) })),
      });
      expect(answer.status).toBe(413);
    } finally {
      await small.close();
    }
  });
});

describe('createSandbox: rate limit, clock and lifecycle', () => {
  it('answers the next n sends with 429 and Retry-After, then accepts again', async () => {
    sandbox.throttle(2, 3);
    const first = await rawSend(text());
    const second = await rawSend(text());
    const third = await rawSend(text());
    expect([first.status, second.status, third.status]).toEqual([429, 429, 202]);
    expect(first.retryAfter).toBe('3');
    expect(first.body).toMatchObject({ title: 'Rate Limit Hit', detail: 'Please wait, then retry your request' });
  });

  it('moves its clock with advance and refuses to move it back', () => {
    expect(sandbox.now().toISOString()).toBe(START.toISOString());
    const { now } = sandbox;
    expect(sandbox.advance(25 * HOUR).getTime()).toBe(START.getTime() + 25 * HOUR);
    expect(now().getTime()).toBe(START.getTime() + 25 * HOUR);
    expect(() => sandbox.advance(-1)).toThrow(RangeError);
    expect(() => sandbox.advance(Number.NaN)).toThrow(RangeError);
    expect(sandbox.now().getTime()).toBe(START.getTime() + 25 * HOUR);
  });

  it('refuses a bad throttle count and a missing signature secret', async () => {
    expect(() => sandbox.throttle(-1)).toThrow(RangeError);
    expect(() => sandbox.throttle(1.5)).toThrow(RangeError);
    expect((await rawSend(text())).status).toBe(202);
    await expect(createSandbox({ signatureSecret: '' })).rejects.toThrow(TypeError);
  });

  it('needs a webhook URL before userSays', async () => {
    const bare = await createSandbox({ signatureSecret: SECRET });
    try {
      await expect(bare.userSays({ page: PAGE, psid: USER })).rejects.toThrow(/webhookUrl/);
    } finally {
      await bare.close();
    }
  });

  it('listens on 127.0.0.1 only and closes twice without error', async () => {
    const other = await createSandbox({ signatureSecret: SECRET });
    expect(other.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await other.close();
    await other.close();
    await expect(fetch(`${other.url}/v1/messages`, { method: 'POST' })).rejects.toThrow();
  });

  it('clears its history but not what the platform knows', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    await rawSend(text());
    await sandbox.settled();
    sandbox.clearHistory();
    expect(sandbox.requests).toHaveLength(0);
    expect(sandbox.webhooks).toHaveLength(0);
    expect(sandbox.conversation(PAGE, USER)).not.toBeNull();
  });
});

describe('sandbox.userSays: refuses what the platform could not have seen, and then records and posts nothing', () => {
  /** Nothing reached the app and the platform knows of no message from USER. */
  const nothingHappened = () => {
    expect(receiver.received).toEqual([]);
    expect(sandbox.webhooks).toEqual([]);
    expect(sandbox.conversation(PAGE, USER)).toBeNull();
    expect(sandbox.judge({ from: PAGE, to: USER })).toMatchObject({ delivered: false, code: 1430 });
  };

  it('refuses a message without page, or with pageId instead of page', async () => {
    await expect(sandbox.userSays({ psid: USER, text: 'hi' } as never)).rejects.toThrow(
      /^sandbox\.userSays: page must be a string of 1 to 32 digits, got nothing$/,
    );
    await expect(sandbox.userSays({ pageId: PAGE, psid: USER } as never)).rejects.toThrow(
      new TypeError(
        'sandbox.userSays has no option "pageId"; its options are page, psid, text, type, url, messageUuid, at, fromAd',
      ),
    );
    nothingHappened();
  });

  it('refuses a message without psid, or with an ID that is not digits', async () => {
    await expect(sandbox.userSays({ page: PAGE } as never)).rejects.toThrow(/psid must be a string of 1 to 32 digits/);
    await expect(sandbox.userSays({ page: Number(PAGE), psid: USER } as never)).rejects.toThrow(TypeError);
    await expect(sandbox.userSays({ page: PAGE, psid: 'user-1' })).rejects.toThrow(/psid must be a string of/);
    nothingHappened();
  });

  it('refuses an unknown type, and text or url that does not go with the type', async () => {
    await expect(sandbox.userSays({ page: PAGE, psid: USER, type: 'sticker' as never })).rejects.toThrow(
      new TypeError(
        'sandbox.userSays: type must be one of text, image, audio, video, file, unsupported, got "sticker" (a string)',
      ),
    );
    await expect(sandbox.userSays({ page: PAGE, psid: USER, type: 'image', text: 'hi' })).rejects.toThrow(
      /text goes with type "text"/,
    );
    await expect(sandbox.userSays({ page: PAGE, psid: USER, url: 'https://example.com/a.png' })).rejects.toThrow(
      /url goes with a media type/,
    );
    await expect(sandbox.userSays({ page: PAGE, psid: USER, type: 'image', url: 'receipt.png' })).rejects.toThrow(
      /url must be an http\(s\) URL/,
    );
    nothingHappened();
  });

  it('refuses an at that is not a Date (TypeError), invalid or in the future (RangeError)', async () => {
    await expect(sandbox.userSays({ page: PAGE, psid: USER, at: 5 as never })).rejects.toThrow(
      new TypeError('sandbox.userSays: at must be a Date, got 5'),
    );
    await expect(sandbox.userSays({ page: PAGE, psid: USER, at: new Date('x') })).rejects.toThrow(RangeError);
    const tenDaysOn = new Date(START.getTime() + 10 * DAY);
    await expect(sandbox.userSays({ page: PAGE, psid: USER, at: tenDaysOn })).rejects.toThrow(
      new RangeError(
        "sandbox.userSays: at (2026-03-12T09:00:00.000Z) is after the sandbox's now (2026-03-02T09:00:00.000Z); a user cannot write in the future",
      ),
    );
    await expect(sandbox.userSays({ page: PAGE, psid: USER, fromAd: 'yes' as never })).rejects.toThrow(
      /fromAd must be true or false/,
    );
    nothingHappened();
  });

  it('still takes every documented input', async () => {
    const at = new Date(START.getTime() - HOUR);
    expect(await sandbox.userSays({ page: PAGE, psid: USER, text: 'hi', messageUuid: randomUUID(), at })).toBe(200);
    expect(await sandbox.userSays({ page: PAGE, psid: USER, type: 'audio', url: 'https://example.com/a.mp3' })).toBe(
      200,
    );
    expect(await sandbox.userSays({ page: PAGE, psid: USER, type: 'unsupported', fromAd: true })).toBe(200);
    expect(sandbox.conversation(PAGE, USER)).toMatchObject({ lastInboundAt: START.getTime() });
  });
});

describe('createSandbox: refuses unknown and invalid options, naming each', () => {
  const refusals: [string, Record<string, unknown>, ErrorConstructor, RegExp][] = [
    [
      'a typo',
      { webhookURL: 'http://127.0.0.1:3000/' },
      TypeError,
      /^createSandbox has no option "webhookURL"; its options are signatureSecret, port,/,
    ],
    [
      'a webhook URL that is not one',
      { webhookUrl: 'not a url' },
      TypeError,
      /^createSandbox: webhookUrl must be an http\(s\) URL, got "not a url" \(a string\)$/,
    ],
    [
      'a status URL that is not one',
      { statusUrl: 'ftp://example.com/' },
      TypeError,
      /statusUrl must be an http\(s\) URL/,
    ],
    [
      'a last status that is not a delivery status',
      { deliverUntil: 'rejected' },
      TypeError,
      /deliverUntil must be one of submitted, delivered, read, got "rejected"/,
    ],
    [
      'a webhook version that does not exist',
      { webhookVersion: 'v2' },
      TypeError,
      /webhookVersion must be one of v1, v0\.1, got "v2"/,
    ],
    [
      'pages as one string',
      { pages: PAGE },
      TypeError,
      /pages must be an array of Page IDs, got "102290129340398" \(a string\)/,
    ],
    ['a Page ID as a number', { pages: [Number(PAGE)] }, TypeError, /pages\[0\] must be a string of 1 to 32 digits/],
    [
      'a clock that returns no Date',
      { now: () => 'yesterday' },
      TypeError,
      /^createSandbox: now\(\) must be a Date, got "yesterday" \(a string\)$/,
    ],
    ['a clock that is no function', { now: new Date() }, TypeError, /now must be a function/],
    [
      'a signing clock that returns an invalid Date',
      { signingClock: () => new Date('x') },
      RangeError,
      /signingClock\(\) is an invalid Date/,
    ],
    ['a policy that is no object', { policy: 'strict' }, TypeError, /^createSandbox: policy must be an object/],
    [
      'a policy without tags',
      { policy: { standardWindowMs: DAY } },
      TypeError,
      /policy\.tags must be an object, got nothing/,
    ],
    [
      'a policy with a negative window',
      { policy: { standardWindowMs: -1, tags: {} } },
      RangeError,
      /policy\.standardWindowMs must be a number of milliseconds > 0, got -1/,
    ],
    [
      'a policy tag with a NaN window',
      { policy: { standardWindowMs: DAY, tags: { HUMAN_AGENT: { windowMs: Number.NaN } } } },
      RangeError,
      /policy\.tags\.HUMAN_AGENT\.windowMs/,
    ],
    ['humanAgent as a word', { humanAgent: 'no' }, TypeError, /humanAgent must be true or false/],
    ['a port out of range', { port: 70_000 }, RangeError, /port must be an integer from 0 to 65535, got 70000/],
    [
      'basicAuth with a typo',
      { basicAuth: { apiKey: 'k', secret: 's' } },
      TypeError,
      /basicAuth has no option "secret"/,
    ],
    ['an empty applicationId', { applicationId: '' }, TypeError, /applicationId must be a non-empty string/],
    [
      'a publicKey of the wrong type',
      { publicKey: 42 },
      TypeError,
      /publicKey must be a PEM string, a Buffer or a KeyObject/,
    ],
    ['a zero webhook timeout', { webhookTimeoutMs: 0 }, RangeError, /webhookTimeoutMs must be an integer ≥ 1/],
  ];
  for (const [what, option, kind, message] of refusals) {
    it(`refuses ${what}`, async () => {
      const refused = createSandbox({ signatureSecret: SECRET, ...option } as never);
      await expect(refused).rejects.toThrow(message);
      await expect(refused).rejects.toBeInstanceOf(kind);
    });
  }

  it('refuses to start without options, saying which it takes', async () => {
    await expect((createSandbox as (options?: unknown) => Promise<Sandbox>)()).rejects.toThrow(
      /^createSandbox needs an object of options \(signatureSecret, port, .*\), got nothing$/,
    );
  });

  it('still starts with every documented option', async () => {
    const full = await createSandbox({
      signatureSecret: SECRET,
      port: 0,
      applicationId: APP_ID,
      publicKey: keys.publicKey,
      basicAuth: { apiKey: 'abcd1234', apiSecret: 'secret' },
      apiKey: 'abcd1234',
      webhookUrl: `${receiver.url}/webhooks/inbound`,
      statusUrl: `${receiver.url}/webhooks/status`,
      now: () => START,
      pages: [PAGE],
      humanAgent: false,
      deliverUntil: 'delivered',
      webhookVersion: 'v0.1',
      maxBodyBytes: 1024,
      webhookTimeoutMs: 1000,
      signingClock: () => new Date(),
      policy: { standardWindowMs: HOUR, safetyMarginMs: 0, tags: { HUMAN_AGENT: { windowMs: 7 * DAY } } },
    });
    await full.close();
  });
});

describe('sandbox controls: refuse values that would quietly do something else', () => {
  it('refuses a Retry-After that is negative or not whole, and throttles nothing then', async () => {
    expect(() => sandbox.throttle(1, -2)).toThrow(
      new RangeError('sandbox.throttle: retryAfterSeconds must be an integer ≥ 0, got -2'),
    );
    expect(() => sandbox.throttle(1, 0.5)).toThrow(RangeError);
    expect(() => sandbox.throttle(1, '2' as never)).toThrow(TypeError);
    expect((await rawSend(text())).status).toBe(202);
  });

  it('refuses a thread refusal other than 1340 or 1430', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    expect(() => sandbox.refuseThread(PAGE, USER, 9999 as never)).toThrow(
      new RangeError(
        'sandbox.refuseThread: code must be 1340 (outside the window) or 1430 (user unreachable), got 9999',
      ),
    );
    expect(() => sandbox.refuseThread(PAGE, USER, '1340' as never)).toThrow(TypeError);
    expect(sandbox.judge({ from: PAGE, to: USER })).toEqual({ delivered: true });
  });

  it('refuses an approval that is not a boolean, and keeps the one it had', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    expect(() => sandbox.setHumanAgent('no' as never)).toThrow(
      new TypeError('sandbox.setHumanAgent: approved must be true or false, got "no" (a string)'),
    );
    expect(() => sandbox.setHumanAgent(false, Number(PAGE) as never)).toThrow(/pageId must be a string of/);
    expect(sandbox.judge({ from: PAGE, to: USER, tag: 'HUMAN_AGENT' })).toEqual({ delivered: true });
  });

  it('refuses a Page ID that is a number, empty or not digits, and leaves the Page linked', async () => {
    await sandbox.userSays({ page: PAGE, psid: USER });
    expect(() => sandbox.unlinkPage(Number(PAGE) as never)).toThrow(
      new TypeError('sandbox.unlinkPage: pageId must be a string of 1 to 32 digits, got 102290129340398'),
    );
    expect(() => sandbox.unlinkPage('')).toThrow(TypeError);
    expect(() => sandbox.unlinkPage('abc')).toThrow(TypeError);
    expect(() => sandbox.linkPage('abc')).toThrow(/^sandbox\.linkPage: pageId/);
    expect(sandbox.judge({ from: PAGE, to: USER })).toEqual({ delivered: true });
  });

  it('refuses to judge a send without from and to, or with an unknown category or name', () => {
    expect(() => sandbox.judge({} as never)).toThrow(
      new TypeError('sandbox.judge: from must be a string of 1 to 32 digits, got nothing'),
    );
    expect(() => sandbox.judge({ from: PAGE } as never)).toThrow(/sandbox\.judge: to must be/);
    expect(() => sandbox.judge({ from: PAGE, to: USER, category: 'marketing' as never })).toThrow(
      /category must be one of response, update, message_tag/,
    );
    expect(() => sandbox.judge({ from: PAGE, to: USER, messageTag: 'HUMAN_AGENT' } as never)).toThrow(
      /sandbox\.judge has no option "messageTag"/,
    );
    expect(() => sandbox.conversation(PAGE, Number(USER) as never)).toThrow(/sandbox\.conversation: psid/);
  });
});
