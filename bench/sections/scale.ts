/**
 * The window index at scale (issue 14): 1,000,000 conversations over 100 Pages in Redis,
 * PostgreSQL and SQLite. Per store: the seeding time; `listByLastInbound` for "closes within
 * 2 h" (the standard window: lastInboundAt in (now - 24 h, now - 22 h]), limit 100, one Page
 * and every Page, median and p99 of sequential calls; `recordInbound` with the index against
 * the same store with `windowIndex: false` on the same data, alternating rounds; bytes per
 * conversation including the index.
 *
 * Run only by `npm run bench -- --scale` (add `--quick` for 20,000 conversations, to check
 * the harness; `--only=scale-redis` for one backend). It takes several minutes and about 1.5 GB of Redis and PostgreSQL space,
 * removed at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type ConversationKey, conversationKey, type PageId, pageId, psid } from '../../src/ids.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { InboundRange, SessionStore } from '../../src/store/types.js';
import { measureApart } from '../lib/affinity.js';
import type { SectionContext } from '../lib/context.js';
import { alternate, median } from '../lib/measure.js';
import { dropBenchTables } from '../lib/pg-cleanup.js';
import { compare } from '../lib/report.js';
import { postgresServerPids, redisServerPids } from '../lib/servers.js';

const SECTION = 'scale';
const PAGES = 100;
const HOUR = 3_600_000;
/** Conversations' last messages spread evenly over the last 7 days (within every store's 8-day ttl). */
const SPAN = 7 * 24 * HOUR;

/** The fixed shape of the data, so that every store (and both sides of a pair) holds the same. */
interface World {
  n: number;
  /** The clock when seeding began; every time is relative to it. */
  t0: number;
  pages: PageId[];
  key(i: number): ConversationKey;
  /** A deterministic spread of times: Knuth's multiplicative hash of i, modulo the span. */
  at(i: number): number;
}

function world(n: number): World {
  const t0 = Date.now();
  const pages = Array.from({ length: PAGES }, (_, p) => pageId(String(100_000_000_000_000 + p)));
  return {
    n,
    t0,
    pages,
    key: (i) => conversationKey(pages[i % PAGES] as PageId, psid(String(7_000_000_000_000_000 + i))),
    at: (i) => t0 - 1 - ((i * 2654435761) % SPAN),
  };
}

/** "Closes within 2 h": the 24-hour window of lastInboundAt in (now - 24 h, now - 22 h]. */
const within2h = (page: PageId | undefined): InboundRange => {
  const now = Date.now();
  return { from: now - 24 * HOUR, to: now - 22 * HOUR, pageId: page, limit: 100 };
};

interface Latency {
  medianMs: number;
  p99Ms: number;
  calls: number;
  /** Entries the last call returned (a query that finds nothing is fast for the wrong reason). */
  returned: number;
  /** What the server itself saw of these calls, where it can tell (Redis's latencystats). */
  server?: string;
}

/** A server's own view of a phase's calls: reset before it, read after it. */
interface ServerSide {
  reset(): Promise<void>;
  read(): Promise<string>;
}

/** Sequential calls after a warm-up; each call's wall time. */
async function latency(call: (i: number) => Promise<unknown[]>, calls: number): Promise<Latency> {
  for (let i = 0; i < 50; i++) await call(i);
  const times: number[] = [];
  let returned = 0;
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    returned = (await call(i)).length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: median(times),
    p99Ms: times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)] as number,
    calls,
    returned,
  };
}

/** recordInbound on random existing conversations, each a newer message: mean µs per call. */
function writeRound(store: SessionStore, w: World, calls: number): () => Promise<number> {
  return async () => {
    const start = performance.now();
    for (let c = 0; c < calls; c++) {
      const i = Math.floor(Math.random() * w.n);
      await store.recordInbound(w.key(i), Date.now() - Math.floor(Math.random() * HOUR), randomUUID());
    }
    return ((performance.now() - start) * 1000) / calls;
  };
}

/**
 * The figures every backend measures the same way: the "closes within 2 h" listing for one Page
 * and for every Page, then `recordInbound` with the index (`store`) against without (`plain`).
 */
async function measureIndex(
  ctx: SectionContext,
  label: string,
  w: World,
  stores: { store: SessionStore; plain: () => SessionStore },
  calls: number,
  server?: ServerSide,
): Promise<{ onePage: Latency; allPages: Latency; withIndexUs: number; withoutIndexUs: number }> {
  const { store } = stores;
  ctx.log(`scale: ${label}, listing`);
  const listings = ctx.quick ? 200 : 1000;
  const seenByServer = async (run: () => Promise<Latency>): Promise<Latency> => {
    await server?.reset();
    const measured = await run();
    return server === undefined ? measured : { ...measured, server: await server.read() };
  };
  const onePage = await seenByServer(() =>
    latency((i) => store.listByLastInbound?.(within2h(w.pages[i % PAGES])) ?? Promise.resolve([]), listings),
  );
  const allPages = await seenByServer(() =>
    latency(() => store.listByLastInbound?.(within2h(undefined)) ?? Promise.resolve([]), listings),
  );
  ctx.log(`scale: ${label}, recordInbound with and without the index`);
  const [withIndexUs, withoutIndexUs] = await alternate(
    ROUNDS,
    writeRound(store, w, calls),
    writeRound(stores.plain(), w, calls),
  );
  return { onePage, allPages, withIndexUs, withoutIndexUs };
}

/** The rows every store reports for one backend. */
function report(
  ctx: SectionContext,
  label: string,
  w: World,
  figures: {
    seedMs: number;
    seedHow: string;
    onePage: Latency;
    allPages: Latency;
    withIndexUs: number;
    withoutIndexUs: number;
    writeNote: string;
    bytes: number;
    bytesTarget?: number;
    bytesNote: string;
    listTarget?: number;
  },
): void {
  const n = w.n.toLocaleString('en-US');
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: `${label}: seeding ${n} conversations over ${PAGES} Pages`,
      subject: { label: figures.seedHow, value: figures.seedMs, unit: 'ms' },
      ratio: (w.n * 1000) / figures.seedMs,
      ratioMeaning: 'conversations/s',
    }),
  );
  for (const [scope, l] of [
    ['one Page', figures.onePage],
    ['every Page', figures.allPages],
  ] as const) {
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: `${label}: listByLastInbound, closes within 2 h, limit 100, ${scope}`,
        subject: { label: 'p99', value: l.p99Ms, unit: 'ms' },
        baseline: { label: 'median', value: l.medianMs, unit: 'ms' },
        ratio: l.p99Ms,
        ratioMeaning: 'ms p99',
        ...(figures.listTarget === undefined
          ? {}
          : { target: { kind: 'max' as const, value: figures.listTarget, text: `≤ ${figures.listTarget} ms p99` } }),
        notes: [
          `${l.calls} sequential calls after 50 warm-up calls; ${l.returned} entries per call${l.server === undefined ? '' : `; ${l.server}`}`,
        ],
      }),
    );
  }
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: `${label}: recordInbound with the window index vs without`,
      subject: { label: 'windowIndex: true', value: figures.withIndexUs, unit: 'µs/op' },
      baseline: { label: 'windowIndex: false', value: figures.withoutIndexUs, unit: 'µs/op' },
      ratio: figures.withIndexUs / figures.withoutIndexUs,
      ratioMeaning: '× without the index',
      target: { kind: 'max', value: 1.2, text: '≤ 1.2×' },
      notes: [figures.writeNote],
    }),
  );
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: `${label}: bytes per conversation, with the index`,
      subject: { label: 'per conversation', value: figures.bytes, unit: 'B/conversation' },
      ratio: figures.bytes,
      ratioMeaning: 'B/conversation',
      ...(figures.bytesTarget === undefined
        ? {}
        : { target: { kind: 'max' as const, value: figures.bytesTarget, text: `≤ ${figures.bytesTarget} B` } }),
      notes: [figures.bytesNote],
    }),
  );
}

const ROUNDS = 7;

async function redisScale(ctx: SectionContext, w: World): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  const prefix = `bench-scale:${process.pid}:`;
  try {
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    const store = redisStore({ client, prefix });
    const before = await usedMemory();
    ctx.log(`scale: redis, seeding ${w.n} conversations through recordInbound`);
    // The store's own scripts, 512 calls in flight on one connection (ioredis pipelines them).
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 512 }, async () => {
        for (let i = next++; i < w.n; i = next++) await store.recordInbound(w.key(i), w.at(i), randomUUID());
      }),
    );
    const seedMs = performance.now() - seedStart;
    const after = await usedMemory();
    // What each part costs: MEMORY USAGE of every index, and of a sample of the other keys.
    let indexBytes = Number(await client.memory('USAGE', `${prefix}pages`, 'SAMPLES', '0'));
    let buckets = 0;
    let scan = '0';
    do {
      const [nextScan, keys] = await client.scan(scan, 'MATCH', `${prefix}i:*`, 'COUNT', 5000);
      scan = nextScan;
      buckets += keys.length;
      const pipeline = client.pipeline();
      for (const k of keys) pipeline.memory('USAGE', k, 'SAMPLES', '0');
      for (const [, bytes] of (await pipeline.exec()) ?? []) indexBytes += Number(bytes);
    } while (scan !== '0');
    const sample = async (kind: 'c' | 'm') => {
      let sum = 0;
      for (let s = 0; s < 2000; s++) {
        const key = w.key(Math.floor(Math.random() * w.n));
        const colon = key.indexOf(':');
        sum += Number(await client.memory('USAGE', `${prefix}${kind}:{${key.slice(0, colon)}}${key.slice(colon)}`));
      }
      return sum / 2000;
    };
    const convBytes = await sample('c');
    const seenBytes = await sample('m');
    // The same keys and client; without the index the scripts skip it (after the listings,
    // since those writes leave the index behind).
    const calls = ctx.quick ? 500 : 2000;
    const {
      value: { onePage, allPages, withIndexUs, withoutIndexUs },
      placement,
    } = await measureApart(await redisServerPids(client), () =>
      measureIndex(ctx, 'redis', w, { store, plain: () => redisStore({ client, prefix, windowIndex: false }) }, calls, {
        // The scripts' own run time, as the server measures it: the rest of a call's wall
        // time is the network, the client and the scheduler (the bench shares 2 cores with
        // the server). The warm-up calls count too.
        reset: async () => {
          await client.config('RESETSTAT');
        },
        read: async () => {
          const stats = await client.info('latencystats');
          const line = /latency_percentiles_usec_evalsha:(\S+)/.exec(stats)?.[1] ?? 'none';
          return `server-side EVALSHA µs: ${line.replaceAll(',', ', ')}`;
        },
      }),
    );
    const perConversation = (after - before) / w.n;
    report(ctx, 'redis', w, {
      seedMs,
      seedHow: 'recordInbound, 512 in flight',
      onePage,
      allPages,
      withIndexUs,
      withoutIndexUs,
      writeNote: `median of ${ROUNDS} alternating rounds of ${calls} sequential calls, each a newer message on a random one of the ${w.n.toLocaleString('en-US')} conversations (the index entry moves); ${placement}`,
      bytes: convBytes + indexBytes / w.n,
      bytesTarget: 300,
      bytesNote: `conversation string ${convBytes.toFixed(0)} B (MEMORY USAGE, 2000 sampled) + index ${(indexBytes / w.n).toFixed(1)} B (MEMORY USAGE of the ${buckets} hour buckets of the ${PAGES} Pages and the Page registry / n); the message-id set a recordInbound also writes (kept 48 h) is ${seenBytes.toFixed(0)} B more; used_memory grew ${perConversation.toFixed(0)} B per conversation in all (other clients share this Redis)`,
      listTarget: 5,
    });
    await jitterControl(ctx, client, allPages);
  } finally {
    ctx.log('scale: redis, removing the keys');
    let cursor = '0';
    do {
      const [nextCursor, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
      cursor = nextCursor;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
    client.disconnect();
  }
}

/**
 * A control for the every-Page listing's p99: a Lua loop that keeps the server busy for the
 * listing's median server time and does nothing else (no keys, a one-integer reply), timed the
 * same way. Its p99 is what this machine's scheduling alone makes of a call that long; the
 * listing's p99 above it is the listing's own.
 */
async function jitterControl(ctx: SectionContext, client: Redis, listing: Latency): Promise<void> {
  const targetUs = Number(/p50=([\d.]+)/.exec(listing.server ?? '')?.[1]);
  if (!Number.isFinite(targetUs)) return;
  const spin = 'local n = tonumber(ARGV[1]) local x = 0 for i = 1, n do x = x + i end return x';
  const serverP50 = async (n: number, calls: number) => {
    await client.config('RESETSTAT');
    for (let i = 0; i < calls; i++) await client.eval(spin, 0, String(n));
    return Number(/latency_percentiles_usec_eval:p50=([\d.]+)/.exec(await client.info('latencystats'))?.[1]);
  };
  ctx.log('scale: redis, the control loop');
  const probe = 100_000;
  const n = Math.max(1, Math.round((probe * targetUs) / (await serverP50(probe, 200))));
  await client.config('RESETSTAT');
  // Placed as the listing was, so that its p99 is the one to compare.
  const { value: control, placement } = await measureApart(await redisServerPids(client), () =>
    latency(async () => [await client.eval(spin, 0, String(n))], ctx.quick ? 200 : 1000),
  );
  const stats = await client.info('latencystats');
  const server = /latency_percentiles_usec_eval:(\S+)/.exec(stats)?.[1] ?? 'none';
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: 'redis: control, a Lua loop as long as the every-Page listing',
      subject: { label: 'p99', value: control.p99Ms, unit: 'ms' },
      baseline: { label: 'median', value: control.medianMs, unit: 'ms' },
      ratio: control.p99Ms,
      ratioMeaning: 'ms p99',
      notes: [
        `${n.toLocaleString('en-US')} iterations of an empty Lua loop (no keys), sized to the listing's server-side median of ${targetUs} µs; ${control.calls} sequential calls after 50 warm-up calls; ${placement}; server-side EVAL µs: ${server.replaceAll(',', ', ')}`,
      ],
    }),
  );
}

/**
 * Fills a PostgreSQL store's tables as recordInbound would (a conversation row and its
 * message id), in one INSERT … SELECT each over generate_series, in a random key order.
 */
async function seedPostgres(pool: pg.Pool, table: string, w: World): Promise<void> {
  const pages = `ARRAY[${w.pages.map((p) => `'${p}'`).join(',')}]`;
  const rows = `SELECT (${pages})[i % ${PAGES} + 1] || ':' || (7000000000000000 + i)::text AS key,
  ${w.t0 - 1}::bigint - ((i::bigint * 2654435761) % ${SPAN}) AS at, md5(i::text)::uuid::text AS uuid
FROM generate_series(0, ${w.n - 1}) AS i ORDER BY md5('k' || i::text)`;
  await pool.query(
    `INSERT INTO "${table}_conversations" (key, last_inbound_at, last_inbound_uuid) SELECT key, at, uuid FROM (${rows}) r`,
  );
  await pool.query(
    `INSERT INTO "${table}_messages" (key, uuid, expires_at) SELECT key, uuid, ${w.t0 + 48 * HOUR} FROM (${rows}) r`,
  );
  await pool.query(`VACUUM ANALYZE "${table}_conversations"`);
  await pool.query(`VACUUM ANALYZE "${table}_messages"`);
}

async function postgresScale(ctx: SectionContext, w: World): Promise<void> {
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 1 });
  const indexed = `bench_scale_${process.pid}`;
  const plainTable = `bench_scale_plain_${process.pid}`;
  try {
    const store = postgresStore({ pool, table: indexed });
    const plain = postgresStore({ pool, table: plainTable, windowIndex: false });
    await store.createTables();
    await plain.createTables();
    ctx.log(`scale: postgres, seeding ${w.n} conversations (generate_series)`);
    const seedStart = performance.now();
    await seedPostgres(pool, indexed, w);
    const seedMs = performance.now() - seedStart;
    await seedPostgres(pool, plainTable, w);
    const size = async (relation: string, total = true) =>
      Number(
        (
          await pool.query<{ n: string }>(`SELECT ${total ? 'pg_total_relation_size' : 'pg_relation_size'}($1) AS n`, [
            relation,
          ])
        ).rows[0]?.n,
      );
    const convTotal = await size(`"${indexed}_conversations"`);
    const pageIndex = await size(`"${indexed}_conv_page_open_idx"`, false);
    const timeIndex = await size(`"${indexed}_conv_at_idx"`, false);
    const messages = await size(`"${indexed}_messages"`);
    const plans: string[] = [];
    for (const [scope, range] of [
      ['one Page', within2h(w.pages[7])],
      ['every Page', within2h(undefined)],
    ] as const) {
      const from = Math.max(range.from, Date.now() - 8 * 24 * HOUR);
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT key FROM "${indexed}_conversations" WHERE ${range.pageId === undefined ? '' : `split_part(key, ':', 1) = '${range.pageId}' AND `}last_inbound_at > ${from} AND last_inbound_at <= ${range.to} AND (closed_at IS NULL OR closed_at < last_inbound_at) AND last_inbound_at >= ${from} AND (last_inbound_at > ${from} OR key > '') ORDER BY last_inbound_at, key LIMIT 100`,
      );
      const scans = rows.map((r) => r['QUERY PLAN']).filter((line) => /Scan|Sort/.test(line));
      plans.push(`${scope}: ${scans.map((line) => line.trim().replace(/\s+\(cost.*$/, '')).join(' → ')}`);
    }
    const calls = ctx.quick ? 300 : 1000;
    const {
      value: { onePage, allPages, withIndexUs, withoutIndexUs },
      placement,
    } = await measureApart(await postgresServerPids(pool), () =>
      measureIndex(ctx, 'postgres', w, { store, plain: () => plain }, calls),
    );
    report(ctx, 'postgres', w, {
      seedMs,
      seedHow: 'INSERT … SELECT generate_series (conversations, message ids) + VACUUM ANALYZE',
      onePage,
      allPages,
      withIndexUs,
      withoutIndexUs,
      writeNote: `two tables seeded alike, one created with windowIndex: false (no T_conv_page_open_idx); median of ${ROUNDS} alternating rounds of ${calls} sequential calls on random conversations, one pooled connection; ${placement}. Plans at this size: ${plans.join('; ')}`,
      bytes: convTotal / w.n,
      bytesTarget: 400,
      bytesNote: `pg_total_relation_size(T_conversations) / n: heap, primary key, conv_at_idx ${(timeIndex / w.n).toFixed(0)} B and the window index T_conv_page_open_idx ${(pageIndex / w.n).toFixed(0)} B; the message-id table (one row per message, kept 48 h) is ${(messages / w.n).toFixed(0)} B more`,
      listTarget: 5,
    });
  } finally {
    await dropBenchTables(pool, indexed);
    await dropBenchTables(pool, plainTable);
    await pool.end();
  }
}

/** Fills a SQLite store's tables as recordInbound would, in one transaction, in a random order. */
function seedSqlite(db: Database.Database, table: string, w: World): void {
  const conv = db.prepare(
    `INSERT INTO "${table}_conversations" (key, last_inbound_at, last_inbound_uuid) VALUES (?, ?, ?)`,
  );
  const seen = db.prepare(`INSERT INTO "${table}_messages" (key, uuid, expires_at) VALUES (?, ?, ?)`);
  const order = Array.from({ length: w.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  db.transaction(() => {
    for (const i of order) {
      const uuid = randomUUID();
      conv.run(w.key(i), w.at(i), uuid);
      seen.run(w.key(i), uuid, w.t0 + 48 * HOUR);
    }
  })();
}

/**
 * The database pages one recordInbound writes: each commit appends its dirty pages to the WAL
 * as frames, so the WAL's frame count over 1000 writes (no checkpoint in between) / 1000.
 */
async function walFramesPerWrite(db: Database.Database, store: SessionStore, w: World): Promise<number> {
  const calls = 1000;
  const autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('wal_autocheckpoint = 0');
  try {
    await writeRound(store, w, calls)();
    const [state] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    return (state?.log ?? Number.NaN) / calls;
  } finally {
    db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
  }
}

async function sqliteScale(ctx: SectionContext, w: World): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vm-bench-scale-'));
  const indexedDb = new Database(join(dir, 'indexed.db'));
  const plainDb = new Database(join(dir, 'plain.db'));
  try {
    for (const db of [indexedDb, plainDb]) db.pragma('synchronous = NORMAL');
    const store = sqliteStore({ database: indexedDb, table: 'scale' });
    const plain = sqliteStore({ database: plainDb, table: 'scale', windowIndex: false });
    await store.get(w.key(0)); // creates the tables
    await plain.get(w.key(0));
    ctx.log(`scale: sqlite, seeding ${w.n} conversations (one transaction)`);
    const seedStart = performance.now();
    seedSqlite(indexedDb, 'scale', w);
    const seedMs = performance.now() - seedStart;
    seedSqlite(plainDb, 'scale', w);
    for (const db of [indexedDb, plainDb]) db.exec('ANALYZE');
    const sizes = new Map(
      (
        indexedDb.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all() as {
          name: string;
          bytes: number;
        }[]
      ).map((r) => [r.name, r.bytes]),
    );
    // SQLite's window index is the Page index alone (listing every Page merges per-Page reads).
    const conv = ['scale_conversations', 'sqlite_autoindex_scale_conversations_1', 'scale_conv_page_open_idx']
      .map((name) => sizes.get(name) ?? 0)
      .reduce((a, b) => a + b, 0);
    const windowBytes = sizes.get('scale_conv_page_open_idx') ?? 0;
    const messages = (sizes.get('scale_messages') ?? 0) + (sizes.get('sqlite_autoindex_scale_messages_1') ?? 0);
    const calls = ctx.quick ? 500 : 2000;
    const { onePage, allPages, withIndexUs, withoutIndexUs } = await measureIndex(
      ctx,
      'sqlite',
      w,
      { store, plain: () => plain },
      calls,
    );
    const withFrames = await walFramesPerWrite(indexedDb, store, w);
    const withoutFrames = await walFramesPerWrite(plainDb, plain, w);
    report(ctx, 'sqlite', w, {
      seedMs,
      seedHow: 'prepared INSERTs in one transaction',
      onePage,
      allPages,
      withIndexUs,
      withoutIndexUs,
      writeNote: `two files seeded alike, one opened with windowIndex: false (no scale_conv_page_open_idx); WAL, synchronous = NORMAL; median of ${ROUNDS} alternating rounds of ${calls} sequential calls on random conversations. Pages written (WAL frames) per call, 1000 calls with checkpoints held off: ${withFrames.toFixed(2)} with the index, ${withoutFrames.toFixed(2)} without`,
      bytes: conv / w.n,
      bytesNote: `dbstat pages of the conversations table and its indexes / n, of which the window index scale_conv_page_open_idx ${(windowBytes / w.n).toFixed(0)} B; the message-id table is ${(messages / w.n).toFixed(0)} B more`,
    });
  } finally {
    indexedDb.close();
    plainDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A backend that fails is reported, not fatal to the others. */
async function guarded(ctx: SectionContext, name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    ctx.pending.push({ section: SECTION, name, reason: `failed: ${(error as Error).message}` });
    process.stderr.write(`scale ${name} failed: ${(error as Error).stack}\n`);
  }
}

const size = (ctx: SectionContext) => (ctx.quick ? 20_000 : 1_000_000);

/** One section per backend, so one can be re-run: `npm run bench -- --scale --only=scale-redis`. */
export const scaleSections: Record<string, (ctx: SectionContext) => Promise<void>> = {
  'scale-redis': (ctx) => guarded(ctx, 'redis', () => redisScale(ctx, world(size(ctx)))),
  'scale-postgres': (ctx) => guarded(ctx, 'postgres', () => postgresScale(ctx, world(size(ctx)))),
  'scale-sqlite': (ctx) => guarded(ctx, 'sqlite', () => sqliteScale(ctx, world(size(ctx)))),
};
