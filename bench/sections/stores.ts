/**
 * Each shared store's `recordInbound` and `get` vs the raw client's cheapest round trip on
 * the same connection: ioredis `GET`, pg `SELECT 1`, a prepared better-sqlite3 select.
 * Redis and PostgreSQL are the loopback services (.ci/run starts them when absent).
 *
 * Each comparison runs in paired slices (bench/lib/pairs.ts) with this process on CPU 0 and
 * the server on CPU 1 (bench/lib/affinity.ts says why): the figure is the median per-pair
 * wall-time ratio, since the server's time counts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { SessionStore } from '../../src/store/types.js';
import { measureApart } from '../lib/affinity.js';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { inProcess, pairedSlices, type Sides } from '../lib/pairs.js';
import { dropBenchTables } from '../lib/pg-cleanup.js';
import { compare } from '../lib/report.js';
import { postgresServerPids, redisServerPids } from '../lib/servers.js';
import { loadBuilt, reportMissing } from '../lib/subject.js';

const SECTION = 'stores';
const CONVERSATIONS = 1_000;
/**
 * Calls per slice (a few milliseconds on each store: SQLite's in-process calls take
 * microseconds, PostgreSQL's commits hundreds of them), and pairs of slices per comparison
 * (after the warm-up pairs).
 */
const SLICE = { redis: 100, postgres: 50, sqlite: 400 } as const;
const PAIRS = 60;
const WARM_UP_PAIRS = 10;

async function measureStore(
  ctx: SectionContext,
  label: keyof typeof SLICE,
  store: SessionStore,
  rawLabel: string,
  raw: () => unknown,
  rawWrite: { label: string; run: (n: number) => unknown },
  /** The server's processes, pinned apart from this one while measuring; none for SQLite. */
  serverPids: number[] = [],
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
  const calls = SLICE[label];
  const slice = (op: () => unknown) =>
    inProcess(async () => {
      for (let i = 0; i < calls; i++) await op();
      return calls;
    });
  const pairs = ctx.quick ? 10 : PAIRS;
  const warmUp = ctx.quick ? 2 : WARM_UP_PAIRS;
  const { value: measured, placement } = await measureApart(serverPids, async () => {
    const sides = {} as Record<'record' | 'get' | 'write', Sides>;
    for (const [name, a, b] of [
      ['record', record, raw],
      ['get', get, raw],
      ['write', record, write],
    ] as const) {
      await pairedSlices(warmUp, slice(a), slice(b));
      sides[name] = await pairedSlices(pairs, slice(a), slice(b));
    }
    return sides;
  });
  const how = (sides: Sides) =>
    `sequential, ${CONVERSATIONS} conversations; ${warmUp} warm-up pairs, then ${pairs} pairs of ${calls} calls, alternating which goes first; ${placement}; ratio = median of per-pair wall-time ratios (interquartile ${sides.wallP25.toFixed(3)}–${sides.wallP75.toFixed(3)}); CPU-time median ratio ${sides.ratio.toFixed(3)}`;
  for (const [op, sides] of [
    ['recordInbound', measured.record],
    ['get', measured.get],
  ] as const) {
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: `${label} ${op}`,
        subject: { label: `${label}.${op}`, value: sides.wallA, unit: 'µs/op' },
        baseline: { label: rawLabel, value: sides.wallB, unit: 'µs/op' },
        ratio: sides.wallRatio,
        ratioMeaning: '× raw round trip',
        target: { kind: 'max', value: 1.2, text: '≤ 1.2× raw' },
        notes: [
          `${how(sides)}${op === 'recordInbound' ? '; a fresh message_uuid per call (the non-duplicate path)' : ''}`,
        ],
      }),
    );
  }
  // recordInbound is a durable write; a read round trip is a low bar for it, so it is also
  // shown next to the client's cheapest single-statement write (no target: context only).
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: `${label} recordInbound vs a raw write`,
      subject: { label: `${label}.recordInbound`, value: measured.write.wallA, unit: 'µs/op' },
      baseline: { label: rawWrite.label, value: measured.write.wallB, unit: 'µs/op' },
      ratio: measured.write.wallRatio,
      ratioMeaning: '× raw write',
      notes: [how(measured.write)],
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
    const redisStore = await loadBuilt<Factory<{ client: Redis; prefix?: string }>>('redis', 'redisStore');
    if (redisStore === undefined)
      reportMissing(ctx, SECTION, ['redis recordInbound', 'redis get'], 'src/store/redis.ts');
    else {
      ctx.log('stores: redis');
      const client = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      try {
        const store = redisStore({ client, prefix });
        await measureStore(
          ctx,
          'redis',
          store,
          'ioredis GET',
          () => client.get(`${prefix}raw`),
          {
            label: 'ioredis HSET (1 field)',
            run: (n) => client.hset(`${prefix}raw:${n % CONVERSATIONS}`, 'at', n),
          },
          await redisServerPids(client),
        );
        await store.close();
        const stale = await client.keys(`${prefix}*`);
        if (stale.length > 0) await client.del(...stale);
      } finally {
        client.disconnect();
      }
    }
  });
  await guarded(ctx, 'postgres', async () => {
    const postgresStore = await loadBuilt<Factory<{ pool: pg.Pool; table?: string }>>('postgres', 'postgresStore');
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
        await measureStore(
          ctx,
          'postgres',
          store,
          'pg SELECT 1',
          () => pool.query('SELECT 1'),
          {
            label: 'pg INSERT … ON CONFLICT DO UPDATE (1 row)',
            run: (n) =>
              pool.query({
                name: 'bench-raw-upsert',
                text: `INSERT INTO ${table}_raw (k, at) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET at = GREATEST(${table}_raw.at, EXCLUDED.at)`,
                values: [String(n % CONVERSATIONS), n],
              }),
          },
          await postgresServerPids(pool),
        );
        await store.close();
      } finally {
        await dropBenchTables(pool, table);
        await pool.end();
      }
    }
  });
  await guarded(ctx, 'sqlite', async () => {
    const sqliteStore = await loadBuilt<Factory<{ database: Database.Database }>>('sqlite', 'sqliteStore');
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
