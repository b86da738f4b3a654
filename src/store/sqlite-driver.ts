/**
 * The three SQLite drivers {@link sqliteStore} runs on, behind the few calls it makes:
 * `better-sqlite3` (Node; its statements are used as they are), `node:sqlite` (Node 22.13+,
 * Deno 2.2+) and `bun:sqlite` (Bun). The store's SQL binds named parameters written `@name`
 * from plain objects, and reads rows as objects, as their first column (`pluck`) or as arrays
 * (`raw`), which the built-in drivers are adapted to here.
 *
 * @module
 */
import type BetterSqlite3 from 'better-sqlite3';
import { badOption, loadPeer } from './shared.js';

/** A prepared statement as the store calls it: better-sqlite3's `run`, `get`, `all`. */
export interface Statement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): { changes: number | bigint };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/** How a statement's rows come back. */
export type RowShape = 'object' | 'pluck' | 'raw';

/** The names of `sqliteStore`'s `driver` option. */
export type SqliteDriverName = 'better-sqlite3' | 'node:sqlite' | 'bun:sqlite';

export const SQLITE_DRIVERS: readonly SqliteDriverName[] = ['better-sqlite3', 'node:sqlite', 'bun:sqlite'];

/**
 * A Database the app opened and hands to `sqliteStore`: a `better-sqlite3` `Database`, a
 * `node:sqlite` `DatabaseSync` or a `bun:sqlite` `Database`.
 */
export interface SqliteDatabase {
  prepare(sql: string): unknown;
  exec(sql: string): unknown;
  close(): unknown;
}

/** A SQLite connection as the store uses it. */
export interface Driver {
  readonly name: SqliteDriverName;
  exec(sql: string): void;
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string, shape?: RowShape): Statement<P, R>;
  /** `fn` wrapped in `BEGIN IMMEDIATE` … `COMMIT` (rolled back when it throws). */
  immediate<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
}

/** The calls of a `node:sqlite` `StatementSync` and a `bun:sqlite` `Statement` used here. */
interface BuiltinStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  // node:sqlite (setReturnArrays since Node 22.16)
  setReadBigInts?(on: boolean): void;
  setReturnArrays?(on: boolean): void;
  setAllowBareNamedParameters?(on: boolean): void;
  setAllowUnknownNamedParameters?(on: boolean): void;
  // bun:sqlite
  safeIntegers?(on: boolean): void;
}

/** The calls of a `node:sqlite` `DatabaseSync` and a `bun:sqlite` `Database` used here. */
interface BuiltinDatabase {
  prepare(sql: string): BuiltinStatement;
  exec(sql: string): void;
  close(): void;
  /** node:sqlite only. */
  readonly isOpen?: boolean;
}

/** A row as the statement's shape wants it, from an object row (`undefined` for no row). */
const SHAPES: Record<RowShape, (row: unknown) => unknown> = {
  object: (row) => row ?? undefined,
  // Columns keep their order in the row object; the store's statements name each once.
  raw: (row) => (row == null ? undefined : Object.values(row)),
  pluck: (row) => (row == null ? undefined : Object.values(row)[0]),
};

/**
 * Adapts one built-in statement to the store's reading of it, whatever the Database's defaults:
 * numbers, not BigInt (epoch ms fit a double); rows as objects, shaped here (a Database made
 * with `returnArrays` is turned back); bare `@name` parameters from plain objects, extra names
 * ignored (an older Bun binds only prefixed names: `prefixed`); bun's `null` for "no row"
 * becomes `undefined`.
 */
function builtinStatement(statement: BuiltinStatement, shape: RowShape, prefixed: boolean): Statement {
  statement.setReadBigInts?.(false);
  statement.safeIntegers?.(false);
  statement.setReturnArrays?.(false);
  statement.setAllowBareNamedParameters?.(true);
  statement.setAllowUnknownNamedParameters?.(true);
  const bind = prefixed ? prefixNames : (params: unknown[]) => params;
  const shaped = SHAPES[shape];
  return {
    run: (...params) => statement.run(...bind(params)),
    get: (...params) => shaped(statement.get(...bind(params))),
    all: (...params) => statement.all(...bind(params)).map(shaped),
  };
}

function prefixNames(params: unknown[]): unknown[] {
  const [first] = params;
  if (params.length !== 1 || first === null || typeof first !== 'object') return params;
  return [Object.fromEntries(Object.entries(first).map(([name, value]) => [`@${name}`, value]))];
}

interface Prepared {
  prefixed: boolean;
  begin: BuiltinStatement;
  commit: BuiltinStatement;
  rollback: BuiltinStatement;
}

/**
 * Its own statements are prepared on first use, not here: a Database busy or locked at start-up
 * fails that first store call (a `StoreError`), not `sqliteStore()`.
 */
function builtinDriver(name: 'node:sqlite' | 'bun:sqlite', db: BuiltinDatabase): Driver {
  let prepared: Prepared | undefined;
  const ready = (): Prepared => {
    prepared ??= {
      // A Bun that binds bare names only with its `strict` option binds NULL for `{ x }` against `@x`.
      prefixed:
        name === 'bun:sqlite' && (db.prepare('SELECT @x AS x').get({ x: 1 }) as { x?: unknown } | null)?.x !== 1,
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
    return prepared;
  };
  return {
    name,
    exec: (sql) => db.exec(sql),
    prepare: <P extends unknown[], R>(sql: string, shape: RowShape = 'object') =>
      builtinStatement(db.prepare(sql), shape, ready().prefixed) as Statement<P, R>,
    immediate:
      (fn) =>
      (...args) => {
        const { begin, commit, rollback } = ready();
        begin.run();
        try {
          const result = fn(...args);
          commit.run();
          return result;
        } catch (error) {
          try {
            rollback.run();
          } catch {
            // SQLite already rolled back (some errors end the transaction): keep the cause.
          }
          throw error;
        }
      },
    close: () => db.close(),
  };
}

function betterSqliteDriver(db: BetterSqlite3.Database): Driver {
  return {
    name: 'better-sqlite3',
    exec: (sql) => db.exec(sql),
    prepare: <P extends unknown[], R>(sql: string, shape: RowShape = 'object') => {
      const statement = db.prepare(sql);
      // A Database made with defaultSafeIntegers(true) would return BigInt.
      statement.safeIntegers(false);
      if (shape === 'pluck') statement.pluck();
      if (shape === 'raw') statement.raw();
      return statement as unknown as Statement<P, R>;
    },
    immediate: (fn) => db.transaction(fn).immediate,
    close: () => db.close(),
  };
}

/**
 * The driver of a Database the app opened, told apart by shape: better-sqlite3's has `pragma`,
 * Bun's has `query`, node:sqlite's neither. Anything without `prepare`, or one closed (or, on
 * better-sqlite3, read-only), is a ValidationError at `sqliteStore()`.
 */
export function driverOf(db: SqliteDatabase): Driver {
  const candidate = db as Partial<BetterSqlite3.Database> & Partial<BuiltinDatabase> & { query?: unknown };
  if (db === null || typeof db !== 'object' || typeof candidate.prepare !== 'function') {
    throw badOption(
      'sqliteStore needs a better-sqlite3, node:sqlite or bun:sqlite Database, or a file name',
      'database',
      'must be a Database (better-sqlite3, node:sqlite DatabaseSync, bun:sqlite) or a file name',
    );
  }
  // Every operation writes or may write: a read-only or closed Database would fail each call.
  if (candidate.readonly === true || candidate.open === false || candidate.isOpen === false) {
    const state = candidate.open === false || candidate.isOpen === false ? 'closed' : 'read-only';
    throw badOption(
      `sqliteStore needs a Database open for writing; this one is ${state}`,
      'database',
      'must be open for writing',
    );
  }
  if (typeof candidate.pragma === 'function') return betterSqliteDriver(db as BetterSqlite3.Database);
  // Bun's Database, and node:sqlite's before `isOpen` (Node 22.15), tell they are closed only by
  // refusing to prepare; any other refusal (a lock) is left to the first store call.
  try {
    (db as BuiltinDatabase).prepare('SELECT 1');
  } catch (error) {
    if (/closed|not open/i.test((error as Error).message)) {
      throw badOption('sqliteStore needs a Database open for writing; this one is closed', 'database', 'must be open');
    }
  }
  return builtinDriver(typeof candidate.query === 'function' ? 'bun:sqlite' : 'node:sqlite', db as BuiltinDatabase);
}

/** The driver `sqliteStore` uses for a file name when none is named: the runtime's own SQLite on Bun and Deno. */
export function defaultDriver(): SqliteDriverName {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  if (runtime.Bun !== undefined) return 'bun:sqlite';
  if (runtime.Deno !== undefined) return 'node:sqlite';
  return 'better-sqlite3';
}

/**
 * Refuses, at `sqliteStore()`, a driver this runtime cannot load: better-sqlite3 on Bun (which
 * refuses it) and Deno (which cannot load it, and crashed doing so before 2.9), bun:sqlite off
 * Bun, node:sqlite on a Node before 22.13 (flagged or absent there).
 */
export function assertDriverRuns(name: SqliteDriverName): void {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  const host = runtime.Bun !== undefined ? 'Bun' : runtime.Deno !== undefined ? 'Deno' : undefined;
  let why: string | undefined;
  if (name === 'better-sqlite3' && host !== undefined) {
    why = `better-sqlite3 does not load on ${host}; leave driver out to use ${host}'s own SQLite`;
  } else if (name === 'bun:sqlite' && host !== 'Bun') {
    why = 'bun:sqlite exists only on Bun';
  } else if (name === 'node:sqlite' && host === undefined) {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 13)) {
      why = `node:sqlite needs Node 22.13 or later (this is Node ${process.versions.node})`;
    }
  }
  if (why !== undefined) throw badOption(`sqliteStore: ${why}`, 'driver', why);
}

/** Opens `file` with `name`, waiting up to `busyTimeoutMs` for another process's write lock. */
export async function openFile(name: SqliteDriverName, file: string, busyTimeoutMs: number): Promise<Driver> {
  if (name === 'better-sqlite3') {
    const Driver = await loadPeer<typeof BetterSqlite3>('better-sqlite3', 'vonage-messenger/sqlite');
    return betterSqliteDriver(new Driver(file, { timeout: busyTimeoutMs }));
  }
  type Open = new (file: string) => BuiltinDatabase;
  let open: Open;
  try {
    const module = (await import(name)) as { Database?: Open; DatabaseSync?: Open };
    open = (name === 'bun:sqlite' ? module.Database : module.DatabaseSync) as Open;
  } catch (error) {
    const where = name === 'bun:sqlite' ? 'Bun' : 'Node 22.13 or later, or Deno 2.2 or later';
    throw new Error(`vonage-messenger/sqlite: driver '${name}' needs ${where} (${(error as Error).message})`, {
      cause: error,
    });
  }
  let db: BuiltinDatabase;
  try {
    db = new open(file);
  } catch (error) {
    throw new Error(
      `vonage-messenger/sqlite: cannot open ${file} (${(error as Error).message}; does its directory exist?)`,
      { cause: error },
    );
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return builtinDriver(name, db);
}
