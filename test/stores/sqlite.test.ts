import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { type ConversationKey, conversationKey, pageId, psid } from '../../src/ids.js';
import { loadPeer } from '../../src/store/shared.js';
import { sqlStatements } from '../../src/store/sql.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { describeSessionStore } from '../../src/testing/conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'vm-sqlite-'));
const file = join(dir, 'store.db');
const shared = new Database(join(dir, 'shared.db'));

afterAll(() => {
  shared.close();
  bigints.close();
  rmSync(dir, { recursive: true, force: true });
});

// Reads from a local file cost no network round trip, so there is nothing to save by merging two.
const lacks = [{ reason: 'local reads: two cost no round trip', capabilities: ['readForSend'] as const }];
describeSessionStore('sqliteStore (file name)', () => sqliteStore({ database: file }), { lacks });
describeSessionStore('sqliteStore (better-sqlite3 Database)', () => sqliteStore({ database: shared }), { lacks });
// An app's own Database may return BigInt for every integer (defaultSafeIntegers).
const bigints = new Database(join(dir, 'bigints.db'));
bigints.defaultSafeIntegers(true);
describeSessionStore(
  'sqliteStore (a Database with defaultSafeIntegers)',
  () => sqliteStore({ database: bigints, table: 'bigints' }),
  { lacks },
);

const key = (page: string, user: string) => conversationKey(pageId(page), psid(user));
const HOUR = 3_600_000;

describe('sqliteStore', () => {
  it('switches the database to WAL mode and creates its tables on first use', async () => {
    const db = new Database(join(dir, 'wal.db'));
    try {
      const store = sqliteStore({ database: db, table: 'app' });
      expect(await store.get(key('1', '2'))).toBeNull();
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all() as string[];
      expect(tables).toEqual([
        'app_claims',
        'app_conversations',
        'app_deliveries',
        'app_messages',
        'app_page_tags',
        'app_pages',
        'app_tokens',
      ]);
    } finally {
      db.close();
    }
  });

  it('adds ad_referral_at to a conversations table created before it existed', async () => {
    const db = new Database(join(dir, 'old.db'));
    try {
      db.exec(`CREATE TABLE "app_conversations" (key TEXT PRIMARY KEY, last_inbound_at INTEGER NOT NULL,
  last_inbound_uuid TEXT NOT NULL, last_outbound_at INTEGER, closed_at INTEGER, closed_reason TEXT)`);
      const at = Date.now() - 1000;
      db.prepare(`INSERT INTO "app_conversations" VALUES (?, ?, 'm-old', NULL, NULL, NULL)`).run(key('7', '8'), at);
      const store = sqliteStore({ database: db, table: 'app' });
      await store.recordAdReferral(key('7', '8'), at);
      expect(await store.get(key('7', '8'))).toEqual({ lastInboundAt: at, lastInboundUuid: 'm-old', adReferralAt: at });
      // A second store on the same database finds the column and adds nothing.
      expect((await sqliteStore({ database: db, table: 'app' }).get(key('7', '8')))?.adReferralAt).toBe(at);
    } finally {
      db.close();
    }
  });

  it('never closes a Database it was given, and closes a file it opened', async () => {
    const db = new Database(join(dir, 'given.db'));
    const given = sqliteStore({ database: db });
    await given.get(key('1', '2'));
    await given.close();
    expect(db.open).toBe(true);
    db.close();
    const ownedStore = sqliteStore({ database: join(dir, 'owned.db') });
    await ownedStore.recordInbound(key('1', '2'), Date.now(), 'm-1');
    await ownedStore.close();
    // Reopened on the next call: the data survived in the file.
    expect((await ownedStore.get(key('1', '2')))?.lastInboundUuid).toBe('m-1');
    await ownedStore.close();
  });

  it('keeps state across store instances on one file (a restart)', async () => {
    const path = join(dir, 'restart.db');
    const first = sqliteStore({ database: path });
    const at = Date.now() - 1000;
    await first.recordInbound(key('3', '4'), at, 'm-1');
    await first.close();
    const second = sqliteStore({ database: path });
    expect(await second.get(key('3', '4'))).toEqual({ lastInboundAt: at, lastInboundUuid: 'm-1' });
    expect((await second.recordInbound(key('3', '4'), at, 'm-1')).duplicate).toBe(true);
    await second.close();
  });

  it('rejects bad options and bad input with ValidationError, writing nothing', async () => {
    expect(() => sqliteStore({ database: file, table: 'x"; DROP TABLE y; --' })).toThrow(ValidationError);
    expect(() => sqliteStore({ database: {} as Database.Database })).toThrow(ValidationError);
    const readOnly = new Database(file, { readonly: true });
    expect(() => sqliteStore({ database: readOnly })).toThrow(/open for writing; this one is read-only/);
    readOnly.close();
    expect(() => sqliteStore({ database: readOnly })).toThrow(/open for writing; this one is closed/);
    expect(() => sqliteStore({ database: file, ttlMs: 0 })).toThrow(ValidationError);
    const db = new Database(':memory:');
    const store = sqliteStore({ database: db });
    await expect(store.recordInbound(key('5', '6'), 1.5, 'm-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.markClosed(key('5', '6'), Date.now(), 'x' as 'user_unavailable')).rejects.toBeInstanceOf(
      ValidationError,
    );
    await store.get(key('5', '6'));
    expect(db.prepare('SELECT count(*) FROM vonage_messenger_messages').pluck().get()).toBe(0);
    db.close();
  });

  it.each<[string, Parameters<typeof sqliteStore>[0], RegExp]>([
    ['an empty file name (SQLite would open a private temporary database)', { database: '' }, /not an empty string/],
    ['a table SQLite reserves', { database: 'x.db', table: 'sqlite_x' }, /must not start with sqlite_/],
    ['a busyTimeoutMs over a C int', { database: 'x.db', busyTimeoutMs: 2 ** 31 }, /from 0 to 2147483647/],
    ['a busyTimeoutMs given as text', { database: 'x.db', busyTimeoutMs: '100' as unknown as number }, /got "100"/],
    ['node:sqlite on Node 20', { database: 'x.db', driver: 'node:sqlite' }, /needs Node 22.13 or later/],
    ['bun:sqlite off Bun', { database: 'x.db', driver: 'bun:sqlite' }, /exists only on Bun/],
    [
      'a clock that is not a function',
      { database: 'x.db', now: 5 as unknown as () => number },
      /now must be a function/,
    ],
  ])('refuses %s with a ValidationError at creation', (_what, options, message) => {
    const error = (() => {
      try {
        sqliteStore(options);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
  });

  it('closes a file it could not use, so that retrying calls do not leak connections', async () => {
    const path = join(dir, 'not-a-database.db');
    writeFileSync(path, 'this is not a SQLite file, only text that is long enough to look like a header '.repeat(20));
    const store = sqliteStore({ database: path });
    const fds = () => readdirSync('/proc/self/fd').length;
    await expect(store.get(key('1', '2'))).rejects.toThrow(/file is not a database/);
    const before = fds();
    for (let i = 0; i < 30; i++) await expect(store.get(key('1', '2'))).rejects.toThrow(/file is not a database/);
    expect(fds()).toBeLessThanOrEqual(before + 2);
    await store.close();
  });

  it('starts a fresh conversation after expiry, and prune deletes only what expired', async () => {
    let clock = Date.now();
    const db = new Database(':memory:');
    const store = sqliteStore({ database: db, ttlMs: 10 * HOUR, dedupeTtlMs: HOUR, now: () => clock });
    const old = key('7', '8');
    const live = key('7', '9');
    await store.recordInbound(old, clock - 9 * HOUR, 'old-1');
    await store.markClosed(old, clock - 9 * HOUR + 1, 'user_unavailable');
    await store.recordInbound(live, clock, 'live-1');
    await store.claim('claim-1', 1000);
    await store.takeToken('bucket-1', 1, 1, clock);
    clock += 2 * HOUR;
    expect(await store.get(old)).toBeNull();
    await store.recordInbound(live, clock, 'live-2');
    expect(await store.prune()).toEqual({ conversations: 1, messages: 2, claims: 1, tokens: 0 });
    expect(await store.get(live)).toEqual({ lastInboundAt: clock, lastInboundUuid: 'live-2' });
    expect((await store.recordInbound(live, clock, 'live-2')).duplicate).toBe(true);
    expect((await store.prune({ olderThanMs: HOUR })).tokens).toBe(1);
    const fresh = await store.recordInbound(old, clock, 'new-1');
    expect(fresh).toEqual({ duplicate: false, state: { lastInboundAt: clock, lastInboundUuid: 'new-1' } });
    db.close();
  });

  it('forgets the ad referral of an expired conversation when the user writes again (as PostgreSQL and memory do)', async () => {
    let clock = Date.now();
    const db = new Database(':memory:');
    const store = sqliteStore({ database: db, ttlMs: 10 * HOUR, now: () => clock });
    const k = key('7', '8');
    await store.recordInbound(k, clock, 'm-1');
    await store.recordAdReferral(k, clock + 1);
    clock += 11 * HOUR;
    await store.recordInbound(k, clock, 'm-2');
    expect(await store.get(k)).toEqual({ lastInboundAt: clock, lastInboundUuid: 'm-2' });
    db.close();
  });

  it('keeps the window index (one partial index by Page) unless windowIndex is false, and both listings use it', async () => {
    const db = new Database(join(dir, 'window.db'));
    try {
      const indexes = () =>
        db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
          .pluck()
          .all();
      const without = sqliteStore({ database: db, table: 'plain', windowIndex: false });
      await without.get(key('1', '2'));
      expect(without.listByLastInbound).toBeUndefined();
      expect(indexes()).toEqual([]);
      expect(() => sqliteStore({ database: db, windowIndex: 'yes' as unknown as boolean })).toThrow(ValidationError);
      const store = sqliteStore({ database: db, table: 'win' });
      await store.recordInbound(key('7', '8'), Date.now() - 1000, 'm-1');
      expect(indexes()).toEqual(['win_conv_page_open_idx']);
      expect(
        (await store.listByLastInbound?.({ from: 0, to: Date.now(), pageId: pageId('7'), limit: 5 }))?.length,
      ).toBe(1);
    } finally {
      db.close();
    }
  });

  it('lists every Page through the Page index: a skip scan finds the Pages, no statement scans the table', async () => {
    const db = new Database(join(dir, 'plan.db'));
    try {
      const store = sqliteStore({ database: db, table: 'win' });
      const at = Date.now() - HOUR;
      await store.get(key('1', '2')); // creates the tables
      // Enough rows per Page that a scan and a seek differ in the planner's eyes once ANALYZE ran.
      db.transaction(() => {
        const insert = db.prepare(
          'INSERT INTO "win_conversations" (key, last_inbound_at, last_inbound_uuid) VALUES (?, ?, ?)',
        );
        for (let i = 0; i < 3000; i++) insert.run(key(String(100 + (i % 30)), String(5000 + i)), at - i, `m-${i}`);
      })();
      await store.recordInbound(key('999', '1'), at - 5, 'm-closed');
      await store.markClosed(key('999', '1'), at, 'user_unavailable');
      db.exec('ANALYZE');
      const sql = sqlStatements('sqlite', (suffix) => `"win_${suffix}"`);
      const plan = (text: string, values: Record<string, unknown>) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(values) as { detail: string }[]).map((r) => r.detail);
      const values = { from: 1, to: 2, afterAt: 1, afterKey: '', limit: 10, page: '7' };
      for (const [text, params] of [
        [sql.openPages, {}],
        [sql.listPageByLastInbound, values],
      ] as const) {
        const reads = plan(text, params).filter((line) => line.includes('win_conversations'));
        expect(reads.length).toBeGreaterThan(0);
        for (const line of reads)
          expect(line).toMatch(/^SEARCH win_conversations USING INDEX win_conv_page_open_idx \(/);
      }
      // A Page whose only conversation is closed has nothing to list and is not visited.
      const pages = db.prepare(sql.openPages).pluck().all() as string[];
      expect(pages).toEqual(Array.from({ length: 30 }, (_, i) => String(100 + i)));
      const listed = await store.listByLastInbound?.({ from: at - 3000, to: at, limit: 50 });
      expect(listed?.map((e) => e.state.lastInboundAt)).toEqual(Array.from({ length: 50 }, (_, i) => at - 2999 + i));
    } finally {
      db.close();
    }
  });

  it('pages through every Page as the one-statement listing of the other SQL stores orders it', async () => {
    const db = new Database(join(dir, 'merge.db'));
    try {
      const store = sqliteStore({ database: db, table: 'merge' });
      const base = Date.now() - HOUR;
      // Page IDs of different lengths make key order differ from (Page, user) order; few
      // distinct times make ties that the key has to order across Pages.
      const pages = ['1', '12', '2', '100'];
      for (let i = 0; i < 120; i++) {
        const k = key(pages[i % pages.length] as string, String(300 + ((i * 37) % 120)));
        await store.recordInbound(k, base + ((i * 7) % 13), `m-${i}`);
        if (i % 9 === 0) await store.markClosed(k, base + 20, 'user_unavailable');
      }
      const range = { from: base - 1, to: base + 11, limit: 7 };
      // The oracle: the single statement D1 and PostgreSQL run over every Page (a scan here).
      const sql = sqlStatements('sqlite', (suffix) => `"merge_${suffix}"`);
      const expected = (
        db
          .prepare(sql.listByLastInbound)
          .raw()
          .all({ ...range, afterAt: range.from, afterKey: '', limit: 1000 }) as [string, string][]
      ).map(([k, v]) => `${k}@${v.split('|')[0]}`);
      expect(expected.length).toBeGreaterThan(40);
      const seen: string[] = [];
      let after: { at: number; key: ConversationKey } | undefined;
      // Bounded: a cursor that fails to advance must fail the test, not hang it.
      for (let round = 0; round <= expected.length; round++) {
        const entries = (await store.listByLastInbound?.({ ...range, after })) ?? [];
        seen.push(...entries.map((e) => `${e.key}@${e.state.lastInboundAt}`));
        const last = entries[entries.length - 1];
        if (last === undefined) break;
        after = { at: last.state.lastInboundAt, key: last.key };
      }
      expect(seen).toEqual(expected);
    } finally {
      db.close();
    }
  });

  it('says what to install when the driver is missing', async () => {
    await expect(loadPeer('vonage-messenger-no-such-driver', 'vonage-messenger/sqlite')).rejects.toThrow(
      'vonage-messenger/sqlite needs vonage-messenger-no-such-driver: npm install vonage-messenger-no-such-driver',
    );
  });
});
