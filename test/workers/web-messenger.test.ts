/**
 * createMessenger as the Workers build compiles it: every module with a -web.ts twin is
 * swapped (tsup.worker.config.ts does the same), so keys are Web Crypto keys, sends go over
 * fetch, and webhooks are verified with Web Crypto.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError, WindowClosedError } from '../../src/errors.js';
import { createMessenger, type Messenger } from '../../src/messenger.js';
import { createSandbox, type Sandbox } from '../../src/testing/sandbox.js';

vi.mock('../../src/webhooks/hmac.js', () => import('../../src/webhooks/hmac-web.js'));
vi.mock('../../src/send/auth.js', () => import('../../src/send/auth-web.js'));
vi.mock('../../src/send/transports.js', () => import('../../src/send/transports-web.js'));

const PAGE = '102290129340398';
const USER = '25381719828140932';
const SECRET = 'web-secret';
const APP_ID = randomUUID();
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

let sandbox: Sandbox | undefined;
let messenger: Messenger | undefined;
afterEach(async () => {
  await messenger?.close();
  await sandbox?.close();
  messenger = undefined;
  sandbox = undefined;
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('createMessenger in the Workers build', () => {
  it('sends over fetch with a Web Crypto JWT the sandbox verifies, after a webhook verified with Web Crypto', async () => {
    sandbox = await createSandbox({ signatureSecret: SECRET, applicationId: APP_ID, publicKey: keys.publicKey });
    const bot = createMessenger({
      applicationId: APP_ID,
      privateKey: keys.privateKey,
      signatureSecret: SECRET,
      apiHost: sandbox.url,
    });
    messenger = bot;
    expect(await refusal(bot.sendText({ from: PAGE, to: USER, text: 'hi?' }))).toBeInstanceOf(WindowClosedError);
    const handler = bot.webhookHandler({
      async onMessage(event) {
        await bot.sendText({ from: event.pageId, to: event.psid, text: 'reply' });
      },
    });
    const { createServer } = await import('node:http');
    const { toNodeHandler } = await import('../../src/webhooks/node.js');
    const server = createServer(toNodeHandler(handler));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      sandbox.webhookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/inbound`;
      expect(await sandbox.userSays({ page: PAGE, psid: USER, text: 'hello' })).toBe(200);
      const sends = sandbox.requests.filter((r) => r.path === '/v1/messages');
      expect(sends).toHaveLength(1);
      expect(sends[0]).toMatchObject({ status: 202, auth: 'jwt' });
    } finally {
      server.close();
    }
  });

  it('refuses a key file path (no file system) and the vonage-sdk transport (Node only) at creation', () => {
    expect(() => createMessenger({ applicationId: APP_ID, privateKey: './private.key' })).toThrow(/PEM text here/);
    expect(() =>
      createMessenger({ applicationId: APP_ID, privateKey: keys.privateKey, transport: 'vonage-sdk' }),
    ).toThrow(ValidationError);
  });

  it('refuses a key that is not RSA at createMessenger, and fails the first send, before any request, for one Web Crypto refuses', async () => {
    sandbox = await createSandbox({ signatureSecret: SECRET, applicationId: APP_ID, publicKey: keys.publicKey });
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(() => createMessenger({ applicationId: APP_ID, privateKey: ec.privateKey, apiHost: sandbox?.url })).toThrow(
      /cannot sign an RS256 JWT: it is not an RSA key/,
    );
    const small = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    messenger = createMessenger({ applicationId: APP_ID, privateKey: small.privateKey, apiHost: sandbox.url });
    await messenger.recordInbound({ from: USER, to: PAGE, timestamp: new Date(), messageUuid: randomUUID() });
    const error = await refusal(messenger.sendText({ from: PAGE, to: USER, text: 'hi' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/cannot sign an RS256 JWT/);
    expect(sandbox.requests).toHaveLength(0);
  });
});
