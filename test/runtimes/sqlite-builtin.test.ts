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
const open = (file: string, bigints = false, options: object = {}): Builtin =>
  module.Database !== undefined
    ? new module.Database(file, { safeIntegers: bigints, ...options })
    : new (module.DatabaseSync as Open)(file, { readBigInts: bigints, ...options });

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
if (driver === 'node:sqlite') {
  // Defaults an app may give its DatabaseSync, which every statement of the store inherits.
  const arrays = open(join(dir, 'arrays.db'), false, { returnArrays: true });
  const prefixedOnly = open(join(dir, 'prefixed.db'), false, { allowBareNamedParameters: false });
  // Node 22.13 to 22.15 have no setReturnArrays: the same Database with the method hidden.
  const older = open(join(dir, 'older.db'));
  const withoutReturnArrays: Builtin = {
    prepare: (sql) => {
      const statement = older.prepare(sql) as ReturnType<Builtin['prepare']> & { setReturnArrays?: unknown };
      return new Proxy(statement, {
        get: (target, name) => {
          if (name === 'setReturnArrays') return undefined;
          const value = Reflect.get(target, name, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
    exec: (sql) => older.exec(sql),
    close: () => older.close(),
  };
  afterAll(() => {
    for (const db of [arrays, prefixedOnly, older]) db.close();
  });
  describeSessionStore('sqliteStore (a DatabaseSync with returnArrays)', () => sqliteStore({ database: arrays }), {
    lacks,
  });
  describeSessionStore(
    'sqliteStore (a DatabaseSync with allowBareNamedParameters: false)',
    () => sqliteStore({ database: prefixedOnly }),
    { lacks },
  );
  describeSessionStore(
    'sqliteStore (a node:sqlite without setReturnArrays, as Node 22.13)',
    () => sqliteStore({ database: withoutReturnArrays }),
    { lacks },
  );
}

// A bun:sqlite Database as a Bun that binds bare names only in `strict` mode opens it: its
// statements drop `{ x }` (binding NULL) and take only `{ '@x' }`. Built on this runtime's
// Database; `query` makes the store take it for Bun's.
const strictOnly = open(join(dir, 'strict-only.db'));
type Params = unknown[];
const prefixedOnlyParams = (params: Params): Params =>
  params.map((p) =>
    p !== null && typeof p === 'object'
      ? Object.fromEntries(Object.entries(p).filter(([name]) => /^[@$:]/.test(name)))
      : p,
  );
const oldBun = {
  query: () => undefined,
  exec: (sql: string) => strictOnly.exec(sql),
  close: () => strictOnly.close(),
  prepare: (sql: string) => {
    const statement = strictOnly.prepare(sql) as unknown as Record<string, (...args: Params) => unknown>;
    const call =
      (method: string) =>
      (...params: Params) =>
        (statement[method] as (...args: Params) => unknown).call(statement, ...prefixedOnlyParams(params));
    return { run: call('run'), get: call('get'), all: call('all') };
  },
};
afterAll(() => strictOnly.close());
describeSessionStore(
  'sqliteStore (a bun:sqlite that binds only prefixed names)',
  () => sqliteStore({ database: oldBun }),
  {
    lacks,
  },
);

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

  it('refuses at creation a driver this runtime cannot load', () => {
    // Bun also serves node:sqlite; a Node or Deno never has bun:sqlite, and better-sqlite3 loads on neither Bun nor Deno.
    if (driver === 'node:sqlite') {
      expect(() => sqliteStore({ database: 'x.db', driver: 'bun:sqlite' })).toThrow(/exists only on Bun/);
    }
    if ('Bun' in globalThis || 'Deno' in globalThis) {
      expect(() => sqliteStore({ database: 'x.db', driver: 'better-sqlite3' })).toThrow(ValidationError);
    }
    expect(sqliteStore({ database: join(dir, 'other.db'), driver })).toBeDefined();
  });

  it('fails the first call, not sqliteStore(), while another connection holds the file locked; then works', async () => {
    const file = join(dir, 'locked.db');
    const holder = open(file);
    holder.exec('CREATE TABLE t (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)');
    const db = open(file);
    db.exec('PRAGMA busy_timeout = 0');
    const store = sqliteStore({ database: db, table: 'locked' });
    await expect(store.get(key)).rejects.toThrow(/locked|busy/i);
    holder.exec('COMMIT');
    holder.close();
    expect(await store.get(key)).toBeNull();
    db.close();
  });

  it('says which file it could not open', async () => {
    const store = sqliteStore({ database: join(dir, 'no-such-directory', 'x.db'), driver });
    await expect(store.get(key)).rejects.toThrow(/cannot open .*no-such-directory.*does its directory exist/);
  });
});
