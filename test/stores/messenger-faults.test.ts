/**
 * The messenger over a shared store that becomes unreachable mid-run (through a TCP proxy the
 * test cuts): sends fail closed with StoreError and open no socket to Vonage, the webhook
 * handler answers 503 so that Vonage retries, and both work again when the store returns —
 * same messenger, same store, no restart.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
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
import { eventually, type TcpProxy, tcpProxy } from './proxy.js';
import { connectPostgres, connectRedis, dropRedisPrefix, PG_CONFIG, REDIS_PORT, runId } from './services.js';

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
  let proxy: TcpProxy;
  let client: Redis;
  let admin: Redis;

  beforeAll(async () => {
    admin = await connectRedis();
    proxy = await tcpProxy(REDIS_PORT);
    client = new Redis({
      host: '127.0.0.1',
      port: proxy.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(times * 50, 500),
    });
    client.on('error', () => {});
    await eventually(() => client.ping());
  });
  afterAll(async () => {
    client.disconnect();
    await proxy.close();
    await dropRedisPrefix(admin, prefix);
    admin.disconnect();
  });

  it('fails sends closed with StoreError and no request, answers webhooks 503, and recovers', async () => {
    await scenario(redisStore({ client, prefix }), proxy);
  }, 60_000);
});

describe('a messenger whose PostgreSQL store becomes unreachable', () => {
  const table = `vm_mfaults_${runId()}`;
  let proxy: TcpProxy;
  let pool: pg.Pool;
  let admin: pg.Pool;

  beforeAll(async () => {
    admin = await connectPostgres();
    await postgresStore({ pool: admin, table }).createTables();
    proxy = await tcpProxy(PG_CONFIG.port);
    pool = new pg.Pool({ ...PG_CONFIG, port: proxy.port, max: 4, connectionTimeoutMillis: 1000, query_timeout: 1000 });
    pool.on('error', () => {});
  });
  afterAll(async () => {
    await pool.end();
    await proxy.close();
    await admin.query(
      ['conversations', 'messages', 'pages', 'claims', 'tokens']
        .map((t) => `DROP TABLE IF EXISTS "${table}_${t}";`)
        .join(' '),
    );
    await admin.end();
  });

  it('fails sends closed with StoreError and no request, answers webhooks 503, and recovers', async () => {
    await scenario(postgresStore({ pool, table }), proxy);
  }, 60_000);
});
