import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { createMessenger } from '../../src/messenger.js';
import { postgresSchemaSql, postgresStore } from '../../src/store/postgres.js';
import { sqlStatements } from '../../src/store/sql.js';
import { inboundText } from '../../src/testing/builders.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { signWebhook } from '../../src/testing/sign.js';
import { createWebhookLayer } from '../../src/webhooks/index.js';
import { startFakeApi } from '../send/fake-api.js';
import { connectPostgres, dropPostgresStore, PG_CONFIG, runId } from './services.js';

const table = `vm_test_${runId()}`;
const asyncTable = `vm_test_${runId()}`;
let pool: pg.Pool;

beforeAll(async () => {
  pool = await connectPostgres();
  await postgresStore({ pool, table }).createTables();
  await postgresStore({ pool, table: asyncTable }).createTables();
});
afterAll(async () => {
  await dropPostgresStore(pool, table);
  await dropPostgresStore(pool, asyncTable);
  await pool.end();
});

describeSessionStore('postgresStore', () => postgresStore({ pool, table }));
describeSessionStore('postgresStore (synchronousCommit: false)', () =>
  postgresStore({ pool, table: asyncTable, synchronousCommit: false }),
);

const key = (page: string, user: string) => conversationKey(pageId(page), psid(user));
const HOUR = 3_600_000;

async function count(suffix: string, where = 'true', values: unknown[] = []): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${table}_${suffix}" WHERE ${where}`, values);
  return rows[0].n;
}

describe('postgresStore on PostgreSQL', () => {
  it('createTables is idempotent and safe to race', async () => {
    const other = `vm_test_${runId()}`;
    try {
      await Promise.all(Array.from({ length: 5 }, () => postgresStore({ pool, table: other }).createTables()));
      await postgresStore({ pool, table: other }).createTables();
      const store = postgresStore({ pool, table: other });
      expect((await store.recordInbound(key('1', '2'), Date.now(), 'm-1')).duplicate).toBe(false);
    } finally {
      await dropPostgresStore(pool, other);
    }
  });

  it('adds ad_referral_at to a conversations table created before it existed', async () => {
    const other = `vm_test_${runId()}`;
    try {
      await pool.query(`CREATE TABLE "${other}_conversations" (
  key text COLLATE "C" PRIMARY KEY, last_inbound_at bigint NOT NULL, last_inbound_uuid text NOT NULL,
  last_outbound_at bigint, closed_at bigint, closed_reason text)`);
      await pool.query(`INSERT INTO "${other}_conversations" VALUES ($1, $2, 'm-old', NULL, NULL, NULL)`, [
        key('7', '8'),
        Date.now() - 1000,
      ]);
      const store = postgresStore({ pool, table: other });
      await store.createTables();
      const at = Date.now() - 1000;
      await store.recordAdReferral(key('7', '8'), at);
      expect((await store.get(key('7', '8')))?.adReferralAt).toBe(at);
    } finally {
      await dropPostgresStore(pool, other);
    }
  });

  it('keeps the window index only with windowIndex (default): createTables adds it to an older table', async () => {
    const other = `vm_test_${runId()}`;
    const indexes = async () =>
      (
        await pool.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1', [
          `${other}_conversations`,
        ])
      ).rows.map((r) => r.indexname);
    try {
      const without = postgresStore({ pool, table: other, windowIndex: false });
      await without.createTables();
      expect(without.listByLastInbound).toBeUndefined();
      expect(await indexes()).not.toContain(`${other}_conv_page_open_idx`);
      const k = key('5', '6');
      await without.recordInbound(k, Date.now() - 1000, 'm-1');
      const store = postgresStore({ pool, table: other });
      await store.createTables();
      expect(await indexes()).toContain(`${other}_conv_page_open_idx`);
      const range = { from: 0, to: Date.now(), limit: 10 };
      expect((await store.listByLastInbound?.({ ...range, pageId: pageId('5') }))?.map((e) => e.key)).toEqual([k]);
    } finally {
      await dropPostgresStore(pool, other);
    }
  });

  it('plans both listings on an index, the Page index for one Page', async () => {
    const client = await pool.connect();
    try {
      // Tiny test tables would be scanned anyway: forbid that to see which index is usable.
      await client.query('SET enable_seqscan = off');
      const sql = sqlStatements('postgres', (suffix) => `"public"."${table}_${suffix}"`);
      const plan = async (withPage: boolean) => {
        const name = `plan_${withPage ? 'page' : 'all'}`;
        await client.query(`PREPARE ${name} AS ${withPage ? sql.listPageByLastInbound : sql.listByLastInbound}`);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN EXECUTE ${name}(1, 2, 1, '', 10${withPage ? ", '5'" : ''})`,
        );
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      };
      expect(await plan(true)).toContain(`${table}_conv_page_open_idx`);
      // Every Page: an index in time order (on a table this small the planner may pick either;
      // at a million rows it reads conv_at_idx: docs/performance-log.md).
      expect(await plan(false)).not.toContain('Seq Scan');
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('creates its tables in a named schema', async () => {
    const schema = `vm_schema_${runId()}`;
    try {
      const store = postgresStore({ pool, schema, table });
      await store.createTables();
      await store.recordInbound(key('3', '4'), Date.now(), 'm-1');
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1', [schema]);
      expect(rows[0].n).toBe(7);
      expect(postgresSchemaSql({ schema, table })).toContain(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('says what a role without privileges lacks, for createTables and for every operation', async () => {
    const role = `vm_role_${runId()}`;
    const own = `vm_priv_${runId()}`;
    await postgresStore({ pool, table: own }).createTables();
    await pool.query(`CREATE ROLE ${role} LOGIN`);
    const limited = new pg.Pool({ ...PG_CONFIG, user: role, max: 2 });
    limited.on('error', () => {});
    try {
      const store = postgresStore({ pool: limited, table: own });
      const denied = /permission denied \(PostgreSQL error 42501, kept as the cause\)\. The store's role needs/;
      await expect(store.get(key('9', '1'))).rejects.toThrow(denied);
      await expect(store.createTables()).rejects.toThrow(/createTables\(\) also needs CREATE on the schema/);
      const error = await store.createTables().catch((e: unknown) => e);
      expect((error as Error).cause).toMatchObject({ code: '42501' });
    } finally {
      await limited.end();
      await dropPostgresStore(pool, own);
      await pool.query(`DROP ROLE ${role}`);
    }
  });

  it('createTables survives the connection dropping between its statements: it rejects, the process lives', async () => {
    const own = `vm_drop_${runId()}`;
    // The server ends an idle transaction after 1 ms, between BEGIN and the next statement.
    const fragile = new pg.Pool({ ...PG_CONFIG, max: 1, options: '-c idle_in_transaction_session_timeout=1' });
    fragile.on('error', () => {});
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const store = postgresStore({ pool: fragile, table: own });
      const original = fragile.connect.bind(fragile);
      // Slow the client down after BEGIN, as a loaded app would be.
      fragile.connect = (async () => {
        const client = await original();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        client.query = (async (...args: unknown[]) => {
          const result = await query(...args);
          if (args[0] === 'BEGIN') await new Promise((resolve) => setTimeout(resolve, 100));
          return result;
        }) as typeof client.query;
        return client;
      }) as typeof fragile.connect;
      await expect(store.createTables()).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await fragile.end().catch(() => {});
      await dropPostgresStore(pool, own);
    }
  });

  it('says to create the tables when they, a column or the ingest function do not exist', async () => {
    const missing = `vm_missing_${runId()}`;
    const store = postgresStore({ pool, table: missing });
    const createTables = /postgresStore public\.vm_\w+: .*do not exist.*Run store\.createTables\(\) once/;
    await expect(store.get(key('7', '8'))).rejects.toThrow(createTables);
    const error = await store.getPage(pageId('7')).catch((e: unknown) => e);
    expect((error as Error).cause).toMatchObject({ code: '42P01' });

    // A webhook through a messenger: 503 (Vonage retries), a StoreError that says what to run.
    const secret = 'missing-tables-secret';
    const storeErrors: unknown[] = [];
    const layer = createWebhookLayer({ store, signatureSecret: secret, now: Date.now });
    const handler = layer.webhookHandler({ onMessage: () => {}, onError: (e) => void storeErrors.push(e) });
    const signed = signWebhook(inboundText({ pageId: '7', psid: '8' }), secret);
    const answer = await handler(
      new Request('http://localhost/', { method: 'POST', headers: signed.headers, body: signed.body }),
    );
    expect(answer.status).toBe(503);
    expect(storeErrors).toHaveLength(1);
    expect(storeErrors[0]).toMatchObject({ name: 'StoreError', message: expect.stringMatching(createTables) });
    expect(((storeErrors[0] as Error).cause as Error).cause).toMatchObject({ code: '42883' });

    // Tables from before a column was added: the same advice.
    const older = `vm_older_${runId()}`;
    const olderStore = postgresStore({ pool, table: older });
    try {
      await olderStore.createTables();
      await pool.query(`ALTER TABLE "${older}_conversations" DROP COLUMN ad_referral_at`);
      const olderError = await olderStore.get(key('7', '8')).catch((e: unknown) => e);
      expect(olderError).toMatchObject({ message: expect.stringMatching(createTables), cause: { code: '42703' } });
    } finally {
      await dropPostgresStore(pool, older);
    }

    // Any other error passes through as it was (here: the server shutting the connection).
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    const failing = { query: () => Promise.reject(terminated) } as unknown as pg.Pool;
    await expect(postgresStore({ pool: failing, table }).get(key('7', '8'))).rejects.toBe(terminated);
  });

  it('refuses table and schema names that could inject SQL', () => {
    for (const bad of ['x"; DROP TABLE users; --', 'Upper', '1abc', 'a-b', '', 'a b', 'x"y']) {
      expect(() => postgresStore({ pool, table: bad })).toThrow(ValidationError);
      expect(() => postgresSchemaSql({ schema: bad })).toThrow(ValidationError);
    }
    expect(() => postgresStore({ pool, table: 'a'.repeat(41) })).toThrow(ValidationError);
    expect(() => postgresStore({ pool, schema: 'a'.repeat(64) })).toThrow(ValidationError);
    expect(() => postgresStore({ pool: {} as pg.Pool })).toThrow(/needs a pg Pool/);
    const client = new pg.Client({ host: '127.0.0.1' });
    expect(() => postgresStore({ pool: client as unknown as pg.Pool })).toThrow(/not a pg Client/);
    expect(() => postgresStore({ pool: client as unknown as pg.Pool })).toThrow(ValidationError);
    expect(() => postgresStore({ pool, ttlMs: -1 })).toThrow(ValidationError);
    expect(() => postgresStore({ pool, windowIndex: 1 as unknown as boolean })).toThrow(ValidationError);
    expect(() => postgresStore({ pool, synchronousCommit: 'off' as unknown as boolean })).toThrow(ValidationError);
    expect(() => postgresSchemaSql({ windowIndex: 'off' as unknown as boolean })).toThrow(ValidationError);
  });

  it('rejects bad input with ValidationError and writes nothing', async () => {
    const store = postgresStore({ pool, table });
    const k = key('5', '6');
    await expect(store.recordInbound(k, 1.5, 'm-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.recordInbound(k, Date.now(), '')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.setPageLinked(pageId('5'), true, Number.POSITIVE_INFINITY)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.claim('x', 1.5)).rejects.toBeInstanceOf(ValidationError);
    expect(await count('conversations', 'key = $1', [k])).toBe(0);
    expect(await count('messages', 'key = $1', [k])).toBe(0);
    expect(await count('pages', 'page_id = $1', ['5'])).toBe(0);
  });

  it('starts a fresh conversation when a message arrives after the old one expired', async () => {
    let clock = Date.now();
    const store = postgresStore({ pool, table, ttlMs: 10 * HOUR, now: () => clock });
    const k = key('7', '8');
    const t = clock - HOUR;
    await store.recordInbound(k, t, 'm-1');
    await store.recordOutbound(k, t + 1);
    await store.markClosed(k, t + 2, 'user_unavailable');
    clock += 10 * HOUR; // now t + 10 h: expired
    expect(await store.get(k)).toBeNull();
    const fresh = await store.recordInbound(k, clock - 1000, 'm-2');
    expect(fresh).toEqual({ duplicate: false, state: { lastInboundAt: clock - 1000, lastInboundUuid: 'm-2' } });
  });

  it('prune deletes expired conversations, message ids, claims and idle buckets, and nothing live', async () => {
    let clock = Date.now();
    const store = postgresStore({ pool, table, ttlMs: 10 * HOUR, dedupeTtlMs: HOUR, now: () => clock });
    const old = key('9', '10');
    const live = key('9', '11');
    await store.recordInbound(old, clock - 9 * HOUR, 'old-1');
    await store.recordInbound(live, clock, 'live-1');
    await store.claim(`claim-${table}`, 1000);
    await store.takeToken(`bucket-${table}`, 1, 1, clock);
    clock += 2 * HOUR;
    await store.recordInbound(live, clock, 'live-2');
    const pruned = await store.prune();
    expect(pruned.conversations).toBeGreaterThanOrEqual(1);
    expect(pruned.messages).toBeGreaterThanOrEqual(2);
    expect(pruned.claims).toBeGreaterThanOrEqual(1);
    expect(await count('conversations', 'key = $1', [old])).toBe(0);
    expect(await count('messages', 'key = $1', [old])).toBe(0);
    expect(await count('conversations', 'key = $1', [live])).toBe(1);
    expect(await count('messages', 'key = $1', [live])).toBe(1);
    expect((await store.recordInbound(live, clock, 'live-2')).duplicate).toBe(true);
    // Idle token buckets go once older than olderThanMs.
    expect((await store.prune({ olderThanMs: HOUR })).tokens).toBeGreaterThanOrEqual(1);
    expect(await count('tokens', 'bucket = $1', [`bucket-${table}`])).toBe(0);
  });

  /** A pool whose queries all run on `client` and are named in `queries`, to count round trips. */
  const countingPool = (client: pg.PoolClient): { queries: string[]; spy: pg.Pool } => {
    const queries: string[] = [];
    const spy = {
      query: (config: pg.QueryConfig) => {
        queries.push(config.name ?? config.text);
        return client.query(config);
      },
      connect: () => pool.connect(),
    } as unknown as pg.Pool;
    return { queries, spy };
  };

  it('a verified inbound webhook (claim, dedupe, window, Page, lease) is one query', async () => {
    const client = await pool.connect();
    try {
      const { queries, spy } = countingPool(client);
      const secret = 'round-trip-secret';
      const layer = createWebhookLayer({
        store: postgresStore({ pool: spy, table }),
        signatureSecret: secret,
        now: Date.now,
      });
      const signed = signWebhook(
        {
          channel: 'messenger',
          message_uuid: 'rt-1',
          to: '4001',
          from: '2002',
          timestamp: new Date().toISOString(),
          message_type: 'text',
          text: 'Hi',
        },
        secret,
      );
      const handler = layer.webhookHandler({ onMessage: () => {} });
      const response = await handler(
        new Request('http://localhost/', { method: 'POST', headers: signed.headers, body: signed.body }),
      );
      expect(response.status).toBe(200);
      // The ingest function call, then the lease's settle after the callback.
      expect(queries.map((q) => q.replace(/_[0-9a-f]{12}$/, ''))).toEqual(['vm_ingest', 'vm_settleOk']);
    } finally {
      client.release();
    }
  });

  it('synchronousCommit: false makes only the ingest transaction asynchronous, in the same one query', async () => {
    const client = await pool.connect();
    try {
      const texts: string[] = [];
      const spy = {
        query: (config: pg.QueryConfig) => {
          texts.push(config.text);
          return client.query(config);
        },
      } as unknown as pg.Pool;
      const ingestOnce = (synchronousCommit: boolean) =>
        postgresStore({ pool: spy, table, synchronousCommit }).ingest?.({
          now: Date.now(),
          replay: { id: `{4301}jti:${runId()}`, ttlMs: 60_000 },
          message: { key: key('4301', '4302'), pageId: pageId('4301'), at: Date.now(), messageUuid: `sc-${runId()}` },
        });
      expect(await ingestOnce(false)).toMatchObject({ replayed: false, duplicate: false });
      expect(await ingestOnce(true)).toMatchObject({ replayed: false, duplicate: false });
      expect(texts).toHaveLength(2);
      expect(texts[0]).toContain("set_config('synchronous_commit', 'off', true)");
      expect(texts[1]).not.toContain('synchronous_commit');
      // Transaction-local: the connection's own setting is untouched afterwards.
      const { rows } = await client.query('SHOW synchronous_commit');
      expect(rows[0].synchronous_commit).toBe('on');
    } finally {
      client.release();
    }
  });

  it('a guarded send reads the Page and the conversation in one query before the network', async () => {
    const client = await pool.connect();
    const api = await startFakeApi();
    try {
      const { queries, spy } = countingPool(client);
      const store = postgresStore({ pool: spy, table });
      const messenger = createMessenger({ apiKey: 'k', apiSecret: 's', apiHost: api.url, store });
      await store.recordInbound(key('4201', '4202'), Date.now() - 1000, 'm-1');
      queries.length = 0;
      await messenger.sendText({ from: '4201', to: '4202', text: 'Hi' });
      expect(queries.map((q) => q.replace(/_[0-9a-f]{12}$/, ''))).toEqual(['vm_readForSend', 'vm_recordOutbound']);
      await messenger.close();
    } finally {
      client.release();
      await api.close();
    }
  });

  it('uses named prepared statements: one round trip per operation after the first', async () => {
    const client = await pool.connect();
    try {
      const queries: unknown[] = [];
      const spy = {
        query: (config: unknown) => {
          queries.push(config);
          return client.query(config as pg.QueryConfig);
        },
        connect: () => pool.connect(),
      } as unknown as pg.Pool;
      const store = postgresStore({ pool: spy, table });
      const k = key('12', '13');
      await store.recordInbound(k, Date.now(), 'm-1');
      await store.get(k);
      expect(queries).toHaveLength(2);
      for (const q of queries) expect((q as { name: string }).name).toMatch(/^vm_\w+_[0-9a-f]{12}$/);
    } finally {
      client.release();
    }
  });

  it('stores times as bigint and reads them back exactly', async () => {
    const store = postgresStore({ pool, table });
    const k = key('14', '15');
    const at = Number.MAX_SAFE_INTEGER - 10 * 24 * HOUR;
    await store.recordInbound(k, at, 'm-1');
    const { rows } = await pool.query(
      `SELECT pg_typeof(last_inbound_at)::text AS t, last_inbound_at FROM "${table}_conversations" WHERE key = $1`,
      [k],
    );
    expect(rows[0]).toEqual({ t: 'bigint', last_inbound_at: String(at) });
    expect((await store.get(k))?.lastInboundAt).toBe(at);
  });
});
