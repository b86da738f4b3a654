/**
 * Faults: the service becomes unreachable mid-run (through a TCP proxy the test cuts, never by
 * stopping the shared server). Store operations must reject — promptly, with the client
 * settings docs/stores.md recommends — and work again once the service is back, without a
 * new client or store.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import type { SessionStore } from '../../src/store/types.js';
import { type Proxied, proxiedPostgres, proxiedRedis } from './proxied.js';
import { eventually, type Fault, type TcpProxy } from './proxy.js';
import { runId } from './services.js';

const key = conversationKey(pageId('4242'), psid('2424'));
const page = pageId('4242');

/** Every operation of the store, each expected to reject while the service is unreachable. */
const operations = (store: SessionStore): [string, () => Promise<unknown>][] => [
  ['get', () => store.get(key)],
  ['recordInbound', () => store.recordInbound(key, Date.now(), `m-${runId()}`)],
  ['recordOutbound', () => store.recordOutbound(key, Date.now())],
  ['markClosed', () => store.markClosed(key, Date.now(), 'closed_by_platform')],
  ['getPage', () => store.getPage(page)],
  ['setPageLinked', () => store.setPageLinked(page, true, Date.now())],
  ['claim', () => store.claim(`c-${runId()}`, 1000)],
  ['delete', () => store.delete(conversationKey(page, psid('1')))],
  ...(store.takeToken === undefined
    ? []
    : [['takeToken', () => store.takeToken?.(`b-${runId()}`, 1, 1, Date.now())] as [string, () => Promise<unknown>]]),
];

/** Runs the shared fault scenario on a store whose client goes through `proxy`. */
async function faultScenario(store: SessionStore, proxy: TcpProxy, fault: Fault): Promise<void> {
  const at = Date.now() - 1000;
  const uuid = `before-${runId()}`;
  await eventually(() => store.recordInbound(key, at, uuid));

  proxy.cut(fault);
  for (const [name, op] of operations(store)) {
    const started = Date.now();
    const outcome = await op().then(
      () => 'resolved',
      (error: unknown) => (error instanceof Error ? 'rejected' : 'rejected with a non-Error'),
    );
    expect({ name, outcome }).toEqual({ name, outcome: 'rejected' });
    // A bound, not a benchmark: "fails fast" means seconds, never the default minutes.
    expect(Date.now() - started).toBeLessThan(5000);
  }

  proxy.restore();
  // Same store, same client: it reconnects by itself and the state from before is intact.
  const state = await eventually(() => store.get(key));
  expect(state?.lastInboundUuid).toBeDefined();
  expect((await store.recordInbound(key, at, uuid)).duplicate).toBe(true);
  const later = Date.now();
  expect((await store.recordInbound(key, later, `after-${runId()}`)).state.lastInboundAt).toBe(later);
}

describe('redisStore when Redis becomes unreachable', () => {
  const prefix = `vm-faults-${runId()}:`;
  let redis: Proxied<Redis>;
  let proxy: TcpProxy;
  let client: Redis;

  beforeAll(async () => {
    redis = await proxiedRedis(prefix);
    ({ proxy, client } = redis);
  });
  afterAll(() => redis.close());

  for (const fault of ['reset', 'hang'] as const) {
    it(`rejects every operation while connections ${fault === 'reset' ? 'are refused' : 'hang'}, then recovers`, async () => {
      await faultScenario(redisStore({ client, prefix }), proxy, fault);
    }, 60_000);
  }
});

describe('postgresStore when PostgreSQL becomes unreachable', () => {
  const table = `vm_faults_${runId()}`;
  let postgres: Proxied<pg.Pool>;
  let proxy: TcpProxy;
  let pool: pg.Pool;

  beforeAll(async () => {
    postgres = await proxiedPostgres(table);
    ({ proxy, client: pool } = postgres);
  });
  afterAll(() => postgres.close());

  for (const fault of ['reset', 'hang'] as const) {
    it(`rejects every operation while connections ${fault === 'reset' ? 'are refused' : 'hang'}, then recovers`, async () => {
      await faultScenario(postgresStore({ pool, table }), proxy, fault);
    }, 60_000);
  }
});
