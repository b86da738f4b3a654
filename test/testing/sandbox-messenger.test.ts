import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bot, startBot } from '../../scripts/demo/bot.js';
import { RateLimitError, WindowClosedError } from '../../src/errors.js';
import { pageId, psid } from '../../src/ids.js';
import { createMessenger, type Messenger } from '../../src/messenger.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/testing/sandbox.js';

const SECRET = 'sandbox-messenger-secret';
const APP_ID = randomUUID();
const PAGE = pageId('102290129340398');
const USER = psid('25381719828140932');
const HOUR = 60 * 60 * 1000;
const START = new Date('2026-06-01T09:00:00.000Z');
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

let sandbox: Sandbox;
let messenger: Messenger;
let bot: Bot;

async function setUp(sandboxOptions: Partial<SandboxOptions> = {}, retry: false | { retries: number } = false) {
  sandbox = await createSandbox({
    signatureSecret: SECRET,
    applicationId: APP_ID,
    publicKey: keys.publicKey,
    now: () => START,
    ...sandboxOptions,
  });
  messenger = createMessenger({
    apiHost: sandbox.url,
    now: sandbox.now,
    applicationId: APP_ID,
    privateKey: keys.privateKey,
    signatureSecret: SECRET,
    retry,
  });
  bot = await startBot({ messenger });
  sandbox.webhookUrl = `${bot.url}/webhooks/inbound`;
  sandbox.statusUrl = `${bot.url}/webhooks/status`;
}

afterEach(async () => {
  await sandbox.settled();
  await bot.close();
  await messenger.close();
  await sandbox.close();
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('the sandbox behind a real messenger', () => {
  it('catches a send the client guard allowed from wrong state (a window opened by imported history)', async () => {
    await setUp();
    // The app imports a conversation the platform never saw: the client guard now allows a send.
    await messenger.recordInbound({ from: USER, to: PAGE, timestamp: sandbox.now(), messageUuid: randomUUID() });
    expect((await messenger.canSend({ from: PAGE, to: USER })).allowed).toBe(true);

    const sent = await messenger.sendText({ from: PAGE, to: USER, text: 'Welcome back!' });
    await sandbox.settled();
    expect(bot.platformErrors.map((e) => [e.messageUuid, e.code])).toEqual([[sent.messageUuid, '1430']]);

    // The messenger learned from the rejected status: the next send stays local.
    const before = sandbox.requests.length;
    const error = await refusal(messenger.sendText({ from: PAGE, to: USER, text: 'Hello?' }));
    expect(error).toBeInstanceOf(WindowClosedError);
    expect((error as WindowClosedError).reason).toBe('user_unavailable');
    expect(sandbox.requests).toHaveLength(before);
  });

  it('catches a reply the client allowed because its window started too late, and closes the conversation', async () => {
    await setUp();
    await sandbox.userSays({ page: PAGE, psid: USER, text: 'hi' });
    sandbox.advance(30 * HOUR);
    // A wrong import moves the client's window start to now; the platform knows better.
    await messenger.recordInbound({ from: USER, to: PAGE, timestamp: sandbox.now(), messageUuid: randomUUID() });
    const sent = await messenger.sendText({ from: PAGE, to: USER, text: 'Late reply' });
    await sandbox.settled();
    expect(sandbox.requests.find((r) => r.messageUuid === sent.messageUuid)?.verdict).toMatchObject({ code: 1340 });

    const before = sandbox.requests.length;
    const error = await refusal(messenger.sendText({ from: PAGE, to: USER, text: 'Hello?' }));
    expect((error as WindowClosedError).reason).toBe('closed_by_platform');
    expect(sandbox.requests).toHaveLength(before);
  });

  it("feeds 429s to the messenger's retry, which honours Retry-After", async () => {
    await setUp({}, { retries: 2 });
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.throttle(1, 0);
    const sent = await messenger.sendText({ from: PAGE, to: USER, text: 'after a 429' });
    const answers = sandbox.requests.filter((r) => r.path === '/v1/messages').map((r) => r.status);
    expect(answers.slice(-2)).toEqual([429, 202]);
    expect(sandbox.requests.at(-1)?.messageUuid).toBe(sent.messageUuid);
  });

  it('turns 429 into RateLimitError when retries are off', async () => {
    await setUp();
    await sandbox.userSays({ page: PAGE, psid: USER });
    sandbox.throttle(1, 7);
    const error = await refusal(messenger.sendText({ from: PAGE, to: USER, text: 'hi' }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(7000);
  });

  it('speaks the legacy v0.1 webhook format end to end', async () => {
    await setUp({ webhookVersion: 'v0.1' });
    expect(await sandbox.userSays({ page: PAGE, psid: USER, text: 'old format' })).toBe(200);
    await sandbox.settled();
    const reply = bot.replies[0]?.result;
    expect(reply).toBeDefined();
    expect(bot.statuses.filter((s) => s.messageUuid === reply?.messageUuid).map((s) => s.webhookVersion)).toEqual([
      'v0.1',
      'v0.1',
      'v0.1',
    ]);
  });

  it('delivers an inbound image and the bot answers it', async () => {
    await setUp();
    expect(await sandbox.userSays({ page: PAGE, psid: USER, type: 'image', url: 'https://example.com/a.png' })).toBe(
      200,
    );
    await sandbox.settled();
    expect(bot.replies[0]?.text).toBe('Thanks for the attachment! A person will look at it.');
    expect(bot.replies[0]?.result).toBeDefined();
  });
});
