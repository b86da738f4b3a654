// The example of docs/testing.md, verbatim but for the import paths: if this breaks, fix the doc too.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMessenger, isWindowClosedError, type Messenger, toNodeHandler } from '../../src/index.js';
import { createSandbox, type Sandbox } from '../../src/testing/index.js';

const PAGE = '102290129340398';
const USER = '25381719828140932';
const signatureSecret = 'test-signature-secret';
const applicationId = randomUUID();
// A throwaway application key: the sandbox verifies the bearer JWTs made from it.
const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

let sandbox: Sandbox;
let messenger: Messenger;
let server: Server;

beforeAll(async () => {
  sandbox = await createSandbox({ signatureSecret, applicationId, publicKey });
  messenger = createMessenger({
    apiHost: sandbox.url, // send to the sandbox instead of api.nexmo.com
    now: sandbox.now, // share its clock, so sandbox.advance() moves both
    applicationId,
    privateKey,
    signatureSecret,
  });
  // Your bot: a webhook handler that replies to every message.
  const handler = messenger.webhookHandler({
    onMessage: (event) => messenger.sendText({ from: event.pageId, to: event.psid, text: 'Thanks, we are on it!' }),
  });
  server = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sandbox.webhookUrl = `${base}/webhooks/inbound`;
  sandbox.statusUrl = `${base}/webhooks/status`;
});

afterAll(async () => {
  await sandbox.close(); // waits for webhooks in flight
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await messenger.close();
});

it('replies to a message, and the reply is delivered', async () => {
  expect(await sandbox.userSays({ page: PAGE, psid: USER, text: 'Where is my order?' })).toBe(200);
  await sandbox.settled(); // every status webhook has been posted
  const reply = sandbox.requests.at(-1);
  expect(reply?.message).toMatchObject({ to: USER, text: 'Thanks, we are on it!' });
  expect(reply?.verdict).toEqual({ delivered: true });
});

it('refuses a reply 25 hours later, without a request', async () => {
  sandbox.advance(25 * 60 * 60 * 1000);
  const before = sandbox.requests.length;
  const error = await messenger.sendText({ from: PAGE, to: USER, text: 'Still there?' }).catch((e: unknown) => e);
  expect(isWindowClosedError(error) && error.reason).toBe('window_closed');
  expect(sandbox.requests).toHaveLength(before);
});
