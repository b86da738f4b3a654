/**
 * The messenger over a shared store that becomes unreachable mid-run (through a TCP proxy the
 * test cuts): sends fail closed with StoreError and open no socket to Vonage, the webhook
 * handler answers 503 so that Vonage retries, and both work again when the store returns —
 * same messenger, same store, no restart.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { pageId, psid } from '../../src/ids.js';
import { createMessenger, type Messenger } from '../../src/messenger.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import type { SessionStore } from '../../src/store/types.js';
import { inboundText } from '../../src/testing/builders.js';
import { signedWebhookRequest } from '../../src/testing/sign.js';
import { type FakeApi, startFakeApi, testKeys } from '../send/fake-api.js';
import { type Proxied, proxiedPostgres, proxiedRedis } from './proxied.js';
import { eventually, type TcpProxy } from './proxy.js';
import { runId } from './services.js';

const { privateKey } = testKeys();
const applicationId = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
const SECRET = 'signature-secret-for-tests-0123456789';
const PAGE = pageId('102290129340398');
const USER = psid('25381719828140932');

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => {
  await api.close();
});

const inbound = () =>
  signedWebhookRequest(
    'http://127.0.0.1/webhooks/inbound',
    inboundText({ pageId: PAGE, psid: USER, text: 'Hi', timestamp: Date.now() - 1000 }),
    SECRET,
    { applicationId },
  );

/** Runs the scenario on a messenger whose store reaches its service through `proxy`. */
async function scenario(store: SessionStore, proxy: TcpProxy): Promise<void> {
  const messenger: Messenger = createMessenger({
    applicationId,
    privateKey,
    signatureSecret: SECRET,
    apiHost: api.url,
    store,
  });
  try {
    const handler = messenger.webhookHandler();
    api.requests.length = 0;
    expect((await eventually(async () => handler(inbound()))).status).toBe(200);
    await messenger.sendText({ from: PAGE, to: USER, text: 'Hello!' });
    expect(api.requests).toHaveLength(1);

    proxy.cut('reset');
    await expect(messenger.sendText({ from: PAGE, to: USER, text: 'Lost?' })).rejects.toBeInstanceOf(StoreError);
    await expect(messenger.canSend({ from: PAGE, to: USER })).rejects.toBeInstanceOf(StoreError);
    expect(api.requests).toHaveLength(1); // the refused send opened no request to Vonage
    const unavailable = await handler(inbound());
    expect(unavailable.status).toBe(503);

    proxy.restore();
    await eventually(() => messenger.sendText({ from: PAGE, to: USER, text: 'Back' }));
    expect(api.requests).toHaveLength(2);
    expect((await handler(inbound())).status).toBe(200);
  } finally {
    await messenger.close();
  }
}

describe('a messenger whose Redis store becomes unreachable', () => {
  const prefix = `vm-mfaults-${runId()}:`;
  let redis: Proxied<Redis>;
  let proxy: TcpProxy;
  let client: Redis;

  beforeAll(async () => {
    redis = await proxiedRedis(prefix);
    ({ proxy, client } = redis);
  });
  afterAll(() => redis.close());

  it('fails sends closed with StoreError and no request, answers webhooks 503, and recovers', async () => {
    await scenario(redisStore({ client, prefix }), proxy);
  }, 60_000);
});

describe('a messenger whose PostgreSQL store becomes unreachable', () => {
  const table = `vm_mfaults_${runId()}`;
  let postgres: Proxied<pg.Pool>;
  let proxy: TcpProxy;
  let pool: pg.Pool;

  beforeAll(async () => {
    postgres = await proxiedPostgres(table);
    ({ proxy, client: pool } = postgres);
  });
  afterAll(() => postgres.close());

  it('fails sends closed with StoreError and no request, answers webhooks 503, and recovers', async () => {
    await scenario(postgresStore({ pool, table }), proxy);
  }, 60_000);
});
