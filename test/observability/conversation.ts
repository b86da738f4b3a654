/**
 * The scripted conversation both observability suites replay against the local sandbox: a
 * reply sent from inside a webhook callback, a refusal by the window, a refusal of a retired
 * tag, a 1340 from the platform, a forged (401) webhook and a store outage.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { type Bot, startBot } from '../../scripts/demo/bot.js';
import { pageId, psid } from '../../src/ids.js';
import { createMessenger, type Messenger } from '../../src/messenger.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';
import { inboundText } from '../../src/testing/builders.js';
import { createSandbox, type Sandbox } from '../../src/testing/sandbox.js';
import { signWebhook } from '../../src/testing/sign.js';

export const SECRET = 'observability-secret';
export const PAGE = pageId('102290129340398');
export const USER = psid('25381719828140932');
export const APP_ID = randomUUID();
const HOUR = 60 * 60 * 1000;
const START = new Date('2026-06-01T09:00:00.000Z');
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** A memory store that fails every call while `down` is set (a store outage). */
function outageStore(inner: SessionStore, state: { down: boolean }): SessionStore {
  const guard =
    <A extends unknown[], T>(run: (...args: A) => Promise<T>) =>
    (...args: A): Promise<T> =>
      state.down ? Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')) : run(...args);
  return {
    get: guard((key) => inner.get(key)),
    recordInbound: guard((key, at, uuid) => inner.recordInbound(key, at, uuid)),
    recordOutbound: guard((key, at) => inner.recordOutbound(key, at)),
    markClosed: guard((key, at, reason) => inner.markClosed(key, at, reason)),
    getPage: guard((page) => inner.getPage(page)),
    setPageLinked: guard((page, linked, at, details) => inner.setPageLinked(page, linked, at, details)),
    claim: guard((id, ttl) => inner.claim(id, ttl)),
    lease: guard((id, ttl, now) => inner.lease(id, ttl, now)),
    settle: guard((id, attempt, ok, now) => inner.settle(id, attempt, ok, now)),
    delete: guard((key) => inner.delete(key)),
    close: () => inner.close(),
  };
}

export interface World {
  sandbox: Sandbox;
  messenger: Messenger;
  bot: Bot;
  outage: { down: boolean };
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const sandbox = await createSandbox({
    signatureSecret: SECRET,
    applicationId: APP_ID,
    publicKey: keys.publicKey,
    now: () => START,
  });
  const outage = { down: false };
  const messenger = createMessenger({
    apiHost: sandbox.url,
    now: sandbox.now,
    applicationId: APP_ID,
    privateKey: keys.privateKey,
    signatureSecret: SECRET,
    retry: false,
    store: outageStore(memoryStore({ now: () => sandbox.now().getTime() }), outage),
  });
  const bot = await startBot({ messenger });
  sandbox.webhookUrl = `${bot.url}/webhooks/inbound`;
  sandbox.statusUrl = `${bot.url}/webhooks/status`;
  return {
    sandbox,
    messenger,
    bot,
    outage,
    async close() {
      await sandbox.settled();
      await bot.close();
      await messenger.close();
      await sandbox.close();
    },
  };
}
const settle = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * Plays the conversation. Returns the HTTP status of each webhook the test itself posted.
 *
 * 1. The user writes; the bot replies from inside `onMessage` (sent; submitted, delivered, read).
 * 2. 25 h later a reply is refused by the window, and an `ACCOUNT_UPDATE` by the retired tag.
 * 3. A wrongly imported message opens the client's window: the send goes out and the platform
 *    rejects it with 1340 (a `rejected` status webhook).
 * 4. A webhook signed with the wrong secret is answered 401.
 * 5. The store goes down: a send fails closed (store_error).
 */
export async function playConversation(world: World): Promise<{ forged: number }> {
  const { sandbox, messenger, bot, outage } = world;
  await sandbox.userSays({ page: PAGE, psid: USER, text: 'hi' });
  await sandbox.settled();

  sandbox.advance(25 * HOUR);
  await settle(messenger.sendText({ from: PAGE, to: USER, text: 'Still there?' }));
  await settle(messenger.sendText({ from: PAGE, to: USER, text: 'Your account', tag: 'ACCOUNT_UPDATE' }));

  await messenger.recordInbound({ from: USER, to: PAGE, timestamp: sandbox.now(), messageUuid: randomUUID() });
  await messenger.sendText({ from: PAGE, to: USER, text: 'Late reply' });
  await sandbox.settled();

  const forged = signWebhook(inboundText({ psid: USER, pageId: PAGE, timestamp: sandbox.now() }), 'not-the-secret', {
    issuedAt: sandbox.now(),
  });
  const response = await fetch(`${bot.url}/webhooks/inbound`, {
    method: 'POST',
    headers: forged.headers,
    body: forged.body,
  });

  outage.down = true;
  await settle(messenger.sendText({ from: PAGE, to: USER, text: 'During the outage' }));
  outage.down = false;
  return { forged: response.status };
}
