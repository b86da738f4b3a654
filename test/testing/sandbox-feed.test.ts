// The sandbox's live feed (subscribe) and its signing clock: what the standalone sandbox
// (npx vonage-messenger sandbox) builds its chat page on.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signRs256 } from '../../src/send/auth.js';
import { createSandbox, type Sandbox, type SandboxFeedEntry } from '../../src/testing/sandbox.js';
import { createWebhookVerifier } from '../../src/webhooks/verify.js';
import { type Receiver, startReceiver } from './receiver.js';

const SECRET = 'feed-secret';
const APP_ID = randomUUID();
const PAGE = '102290129340398';
const USER = '25381719828140932';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

let receiver: Receiver;
let sandbox: Sandbox | undefined;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
afterEach(async () => {
  await sandbox?.close();
  receiver.received.length = 0;
});

const start = (extra: Partial<Parameters<typeof createSandbox>[0]> = {}) =>
  createSandbox({
    signatureSecret: SECRET,
    applicationId: APP_ID,
    publicKey,
    webhookUrl: `${receiver.url}/webhooks/inbound`,
    statusUrl: `${receiver.url}/webhooks/status`,
    deliverUntil: 'delivered',
    ...extra,
  });

function send(url: string, key = privateKey) {
  const iat = Math.floor(Date.now() / 1000);
  const jwt = signRs256({ jti: randomUUID(), iat, exp: iat + 900, application_id: APP_ID }, key);
  return fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'messenger', message_type: 'text', from: PAGE, to: USER, text: 'hi' }),
  });
}

describe('sandbox.subscribe', () => {
  it('streams each answered request and posted webhook, in order, until unsubscribed', async () => {
    const box = await start();
    sandbox = box;
    const feed: SandboxFeedEntry[] = [];
    const stop = box.subscribe((entry) => feed.push(entry));
    await box.userSays({ page: PAGE, psid: USER, text: 'hello' });
    expect((await send(box.url)).status).toBe(202);
    expect((await send(box.url, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)).status).toBe(401);
    await box.settled();
    const summary = feed.map((entry) =>
      entry.kind === 'request'
        ? `request ${entry.request.status}`
        : `webhook ${entry.webhook.kind} ${entry.webhook.status ?? ''}`.trim(),
    );
    // The second send's 401 may land between the first one's status webhooks.
    expect(summary.filter((line) => line.startsWith('webhook'))).toEqual([
      'webhook inbound',
      'webhook status submitted',
      'webhook status delivered',
    ]);
    expect(summary.filter((line) => line.startsWith('request'))).toEqual(['request 202', 'request 401']);
    expect(feed.find((entry) => entry.kind === 'request')).toMatchObject({
      request: { verdict: { delivered: true }, message: { text: 'hi' } },
    });
    stop();
    await box.userSays({ page: PAGE, psid: USER, text: 'again' });
    expect(feed).toHaveLength(5);
  });

  it('keeps answering and feeding the other listeners when one throws', async () => {
    const box = await start();
    sandbox = box;
    const seen: string[] = [];
    box.subscribe(() => {
      throw new Error('listener bug');
    });
    box.subscribe((entry) => seen.push(entry.kind));
    await box.userSays({ page: PAGE, psid: USER });
    expect((await send(box.url)).status).toBe(202);
    await box.settled();
    expect(seen).toEqual(['webhook', 'request', 'webhook', 'webhook']);
  });
});

describe('signingClock', () => {
  it('dates webhook tokens by it while the platform clock moves', async () => {
    const box = await start({ signingClock: () => new Date() });
    sandbox = box;
    box.advance(25 * 60 * 60 * 1000);
    await box.userSays({ page: PAGE, psid: USER });
    const webhook = receiver.received.at(-1);
    // A verifier on real time accepts it; the body's timestamp is the sandbox's (25 h ahead).
    const token = String(webhook?.headers.authorization).slice('Bearer '.length);
    expect(() => createWebhookVerifier({ signatureSecret: SECRET }).check(token, webhook?.body ?? '')).not.toThrow();
    expect(Date.parse(String(webhook?.json.timestamp)) - Date.now()).toBeGreaterThan(24 * 60 * 60 * 1000);
  });

  it('defaults to the sandbox clock, so an advanced token is refused by a verifier on real time', async () => {
    const box = await start();
    sandbox = box;
    box.advance(25 * 60 * 60 * 1000);
    await box.userSays({ page: PAGE, psid: USER });
    const webhook = receiver.received.at(-1);
    const token = String(webhook?.headers.authorization).slice('Bearer '.length);
    expect(() => createWebhookVerifier({ signatureSecret: SECRET }).check(token, webhook?.body ?? '')).toThrow(
      expect.objectContaining({ reason: 'future_token' }),
    );
  });
});
