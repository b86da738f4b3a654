/**
 * Each shared store's `recordInbound` and `get` vs the raw client's cheapest round trip on
 * the same connection: ioredis `GET`, pg `SELECT 1`, a prepared better-sqlite3 select.
 * Redis and PostgreSQL are the loopback services (.ci/run starts them when absent).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { SessionStore } from '../../src/store/types.js';
import { loadExport, PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { timeTasksRounds } from '../lib/measure.js';
import { dropBenchTables } from '../lib/pg-cleanup.js';
import { compare } from '../lib/report.js';
import { reportMissing } from '../lib/subject.js';

const SECTION = 'stores';
const CONVERSATIONS = 1_000;

async function measureStore(
  ctx: SectionContext,
  label: string,
  store: SessionStore,
  rawLabel: string,
  raw: () => unknown,
  rawWrite: { label: string; run: (n: number) => unknown },
): Promise<void> {
  const keys = Array.from({ length: CONVERSATIONS }, (_, i) => `${PAGE_ID}:${psidFor(i)}`) as Parameters<
    SessionStore['get']
  >[0][];
  const base = Date.now() - 60_000;
  for (const key of keys) await store.recordInbound(key, base, randomUUID());
  let n = 0;
  const record = () => {
    n++;
    return store.recordInbound(keys[n % CONVERSATIONS]!, base + n, randomUUID());
  };
  const get = () => {
    n++;
    return store.get(keys[n % CONVERSATIONS]!);
  };
  const write = () => {
    n++;
    return rawWrite.run(n);
  };
  const t = await timeTasksRounds({ raw, write, record, get }, ctx.quick ? 1 : 3, { time: ctx.quick ? 300 : 500 });
  const r = t.raw!;
  for (const [op, timing] of [
    ['recordInbound', t.record!],
    ['get', t.get!],
  ] as const) {
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: `${label} ${op}`,
        subject: { label: `${label}.${op}`, value: timing.meanNs / 1000, unit: 'µs/op' },
        baseline: { label: rawLabel, value: r.meanNs / 1000, unit: 'µs/op' },
        ratio: timing.meanNs / r.meanNs,
        ratioMeaning: '× raw round trip',
        target: { kind: 'max', value: 1.2, text: '≤ 1.2× raw' },
        notes:
          op === 'recordInbound'
            ? [
                `sequential, ${CONVERSATIONS} conversations, a fresh message_uuid per call (the non-duplicate path); median of 3 rounds of 500 ms per task`,
              ]
            : undefined,
      }),
    );
  }
  // recordInbound is a durable write; a read round trip is a low bar for it, so it is also
  // shown next to the client's cheapest single-statement write (no target: context only).
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: `${label} recordInbound vs a raw write`,
      subject: { label: `${label}.recordInbound`, value: t.record!.meanNs / 1000, unit: 'µs/op' },
      baseline: { label: rawWrite.label, value: t.write!.meanNs / 1000, unit: 'µs/op' },
      ratio: t.record!.meanNs / t.write!.meanNs,
      ratioMeaning: '× raw write',
    }),
  );
}

type Factory<O> = (options: O) => SessionStore;

/** Runs one adapter's comparison; a service that is down is reported, not fatal to the others. */
async function guarded(ctx: SectionContext, name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    ctx.pending.push({ section: SECTION, name, reason: `failed: ${(error as Error).message}` });
  }
}

export async function storesSection(ctx: SectionContext): Promise<void> {
  const prefix = `bench:${process.pid}:`;
  await guarded(ctx, 'redis', async () => {
    const redisStore = await loadExport<Factory<{ client: Redis; prefix?: string }>>(
      '../../src/store/redis.js',
      'redisStore',
    );
    if (redisStore === undefined)
      reportMissing(ctx, SECTION, ['redis recordInbound', 'redis get'], 'src/store/redis.ts');
    else {
      ctx.log('stores: redis');
      const client = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      try {
        const store = redisStore({ client, prefix });
        await measureStore(ctx, 'redis', store, 'ioredis GET', () => client.get(`${prefix}raw`), {
          label: 'ioredis HSET (1 field)',
          run: (n) => client.hset(`${prefix}raw:${n % CONVERSATIONS}`, 'at', n),
        });
        await store.close();
        const stale = await client.keys(`${prefix}*`);
        if (stale.length > 0) await client.del(...stale);
      } finally {
        client.disconnect();
      }
    }
  });
  await guarded(ctx, 'postgres', async () => {
    const postgresStore = await loadExport<Factory<{ pool: pg.Pool; table?: string }>>(
      '../../src/store/postgres.js',
      'postgresStore',
    );
    if (postgresStore === undefined)
      reportMissing(ctx, SECTION, ['postgres recordInbound', 'postgres get'], 'src/store/postgres.ts');
    else {
      ctx.log('stores: postgres');
      // One connection, so the store and the raw query share the same round-trip conditions.
      const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 1 });
      const table = `bench_sessions_${process.pid}`;
      try {
        const store = postgresStore({ pool, table });
        await (store as { createTables?: () => Promise<void> }).createTables?.();
        await pool.query(`CREATE TABLE ${table}_raw (k text PRIMARY KEY, at bigint NOT NULL)`);
        await measureStore(ctx, 'postgres', store, 'pg SELECT 1', () => pool.query('SELECT 1'), {
          label: 'pg INSERT … ON CONFLICT DO UPDATE (1 row)',
          run: (n) =>
            pool.query({
              name: 'bench-raw-upsert',
              text: `INSERT INTO ${table}_raw (k, at) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET at = GREATEST(${table}_raw.at, EXCLUDED.at)`,
              values: [String(n % CONVERSATIONS), n],
            }),
        });
        await store.close();
      } finally {
        await dropBenchTables(pool, table);
        await pool.end();
      }
    }
  });
  await guarded(ctx, 'sqlite', async () => {
    const sqliteStore = await loadExport<Factory<{ database: Database.Database }>>(
      '../../src/store/sqlite.js',
      'sqliteStore',
    );
    if (sqliteStore === undefined)
      reportMissing(ctx, SECTION, ['sqlite recordInbound', 'sqlite get'], 'src/store/sqlite.ts');
    else {
      ctx.log('stores: sqlite');
      const dir = mkdtempSync(join(tmpdir(), 'vm-bench-'));
      const database = new Database(join(dir, 'bench.db'));
      database.pragma('journal_mode = WAL');
      try {
        const store = sqliteStore({ database });
        await (store as { createTables?: () => Promise<void> | void }).createTables?.();
        database.exec('CREATE TABLE IF NOT EXISTS bench_raw (k TEXT PRIMARY KEY, v INTEGER)');
        database.prepare('INSERT OR REPLACE INTO bench_raw VALUES (?, ?)').run('raw', 1);
        const select = database.prepare('SELECT v FROM bench_raw WHERE k = ?');
        const upsert = database.prepare(
          'INSERT INTO bench_raw (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = max(v, excluded.v)',
        );
        await measureStore(ctx, 'sqlite', store, 'prepared SELECT by key', async () => select.get('raw'), {
          label: 'prepared upsert (1 row)',
          run: async (n) => upsert.run(String(n % CONVERSATIONS), n),
        });
        await store.close();
      } finally {
        database.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
}
