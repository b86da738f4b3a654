/**
 * The SQLite store on the runtime's own SQLite: `bun:sqlite` under Bun, `node:sqlite` under
 * Node 22+. Not part of the Node 20 run, which has neither: scripts/runtimes.sh runs this file
 * with vitest.runtimes.config.ts on Bun and on Node 22, 24 and 26.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { type SqliteDatabase, type SqliteDriverName, sqliteStore } from '../../src/store/sqlite.js';
import { describeSessionStore } from '../../src/testing/conformance.js';

interface Builtin extends SqliteDatabase {
  prepare(sql: string): { get(...params: unknown[]): unknown };
}
type Open = new (file: string, options: object) => Builtin;

const driver: SqliteDriverName = 'Bun' in globalThis ? 'bun:sqlite' : 'node:sqlite';
// The runtime's own module; `bigints` opens it so that every integer reads as a BigInt, as an
// app's Database may.
const module = (await import(driver)) as { Database?: Open; DatabaseSync?: Open };
const open = (file: string, bigints = false): Builtin =>
  module.Database !== undefined
    ? new module.Database(file, { safeIntegers: bigints })
    : new (module.DatabaseSync as Open)(file, { readBigInts: bigints });

const dir = mkdtempSync(join(tmpdir(), 'vm-sqlite-builtin-'));
const shared = open(join(dir, 'shared.db'));
const bigints = open(join(dir, 'bigints.db'), true);
afterAll(() => {
  shared.close();
  bigints.close();
  rmSync(dir, { recursive: true, force: true });
});

const lacks = [{ reason: 'local reads: two cost no round trip', capabilities: ['readForSend'] as const }];
describeSessionStore(
  `sqliteStore (${driver}, file name)`,
  () => sqliteStore({ database: join(dir, 'file.db'), driver }),
  {
    lacks,
  },
);
describeSessionStore(`sqliteStore (a ${driver} Database)`, () => sqliteStore({ database: shared }), { lacks });
describeSessionStore(`sqliteStore (a ${driver} Database reading BigInt)`, () => sqliteStore({ database: bigints }), {
  lacks,
});

const key = conversationKey(pageId('1'), psid('2'));

describe(`sqliteStore on ${driver}`, () => {
  // Bun's and Deno's default is their own driver; Node's stays better-sqlite3, so node:sqlite is
  // named there.
  const byDefault = 'Bun' in globalThis || 'Deno' in globalThis;
  const named = byDefault ? {} : { driver };
  it(`opens a file name with ${driver}${byDefault ? ' when no driver is named' : ''}, in WAL mode`, async () => {
    const file = join(dir, 'default.db');
    const store = sqliteStore({ database: file, ...named });
    const at = Date.now() - 1000;
    await store.recordInbound(key, at, 'm-1');
    await store.close();
    const db = open(file);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare('SELECT last_inbound_at AS at FROM vonage_messenger_conversations').get()).toEqual({ at });
    db.close();
  });

  it('keeps state across store instances on one file, as after a restart', async () => {
    const file = join(dir, 'restart.db');
    const first = sqliteStore({ database: file, driver });
    const at = Date.now() - 1000;
    await first.recordInbound(key, at, 'm-1');
    await first.close();
    const second = sqliteStore({ database: file, driver });
    expect(await second.get(key)).toEqual({ lastInboundAt: at, lastInboundUuid: 'm-1' });
    expect((await second.recordInbound(key, at, 'm-1')).duplicate).toBe(true);
    await second.close();
  });

  it('rolls a failed transaction back, leaving the next one to run', async () => {
    const db = open(':memory:');
    const store = sqliteStore({ database: db, table: 'rollback' });
    await store.recordInbound(key, Date.now() - 1000, 'm-1');
    db.exec('DROP TABLE rollback_messages');
    await expect(store.recordInbound(key, Date.now(), 'm-2')).rejects.toThrow(/rollback_messages/);
    db.exec(
      'CREATE TABLE rollback_messages (key TEXT NOT NULL, uuid TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (key, uuid)) WITHOUT ROWID',
    );
    expect((await store.recordInbound(key, Date.now(), 'm-3')).duplicate).toBe(false);
    db.close();
  });

  it('refuses a closed Database and the other driver’s name, with ValidationError', () => {
    const db = open(':memory:');
    db.close();
    expect(() => sqliteStore({ database: db })).toThrow(ValidationError);
    expect(() => sqliteStore({ database: 'x.db', driver: 'sqlite3' as SqliteDriverName })).toThrow(ValidationError);
  });

  it('names the runtime a missing built-in driver needs', async () => {
    const other: SqliteDriverName = driver === 'bun:sqlite' ? 'node:sqlite' : 'bun:sqlite';
    const store = sqliteStore({ database: join(dir, 'other.db'), driver: other });
    // Bun also serves node:sqlite; a Node never has bun:sqlite.
    if (other === 'bun:sqlite') await expect(store.get(key)).rejects.toThrow(/driver 'bun:sqlite' needs Bun/);
    else expect(await store.get(key)).toBeNull();
  });
});
