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
  // node:sqlite
  setReadBigInts?(on: boolean): void;
  setReturnArrays?(on: boolean): void;
  setAllowUnknownNamedParameters?(on: boolean): void;
  // bun:sqlite
  values?(...params: unknown[]): unknown[][];
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

type Shaped = (row: unknown) => unknown;
const PLUCK: Shaped = (row) => (row as unknown[] | undefined)?.[0];

/**
 * Adapts one built-in statement: rows with numbers, not BigInt, whatever the Database's
 * default (epoch ms fit a double); `pluck` and `raw` read arrays; bun's `null` for "no row"
 * becomes `undefined`; named parameters go in as written, or with their `@` where an older Bun
 * binds only prefixed names (`prefixed`).
 */
function builtinStatement(statement: BuiltinStatement, shape: RowShape, prefixed: boolean): Statement {
  statement.setReadBigInts?.(false);
  statement.safeIntegers?.(false);
  statement.setAllowUnknownNamedParameters?.(true);
  const arrays = shape !== 'object' && statement.setReturnArrays !== undefined;
  if (arrays) statement.setReturnArrays?.(true);
  const bind = prefixed ? prefixNames : (params: unknown[]) => params;
  // Bun returns arrays from values(): the first row of it is `get` in array form.
  const getRow = (params: unknown[]): unknown =>
    shape !== 'object' && !arrays && statement.values !== undefined
      ? statement.values(...params)[0]
      : (statement.get(...params) ?? undefined);
  const allRows = (params: unknown[]): unknown[] =>
    shape !== 'object' && !arrays && statement.values !== undefined
      ? statement.values(...params)
      : statement.all(...params);
  const shaped: Shaped = shape === 'pluck' ? PLUCK : (row) => row;
  return {
    run: (...params) => statement.run(...bind(params)),
    get: (...params) => shaped(getRow(bind(params))),
    all: (...params) => allRows(bind(params)).map(shaped),
  };
}

function prefixNames(params: unknown[]): unknown[] {
  const [first] = params;
  if (params.length !== 1 || first === null || typeof first !== 'object') return params;
  return [Object.fromEntries(Object.entries(first).map(([name, value]) => [`@${name}`, value]))];
}

function builtinDriver(name: 'node:sqlite' | 'bun:sqlite', db: BuiltinDatabase): Driver {
  let probe: BuiltinStatement;
  try {
    probe = db.prepare('SELECT @x AS x');
  } catch (error) {
    // Bun tells a closed Database only by refusing to prepare.
    throw badOption(`sqliteStore cannot use this Database: ${(error as Error).message}`, 'database', 'must be open');
  }
  // A Bun before bare names (its `strict` option) binds NULL for `{ x }` against `@x`.
  const prefixed = name === 'bun:sqlite' && probe.get({ x: 1 }) == null;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  return {
    name,
    exec: (sql) => db.exec(sql),
    prepare: <P extends unknown[], R>(sql: string, shape: RowShape = 'object') =>
      builtinStatement(db.prepare(sql), shape, prefixed) as Statement<P, R>,
    immediate:
      (fn) =>
      (...args) => {
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
 * The driver of a Database the app opened, told apart by shape: better-sqlite3 has `pragma`,
 * Bun's has `query`, node:sqlite's `isOpen`. Anything else, or one closed or read-only, is a
 * ValidationError at `sqliteStore()`.
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
  return builtinDriver(typeof candidate.query === 'function' ? 'bun:sqlite' : 'node:sqlite', db as BuiltinDatabase);
}

/** The driver `sqliteStore` uses for a file name when none is named: the runtime's own SQLite on Bun and Deno. */
export function defaultDriver(): SqliteDriverName {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  if (runtime.Bun !== undefined) return 'bun:sqlite';
  if (runtime.Deno !== undefined) return 'node:sqlite';
  return 'better-sqlite3';
}

/** Opens `file` with `name`, waiting up to `busyTimeoutMs` for another process's write lock. */
export async function openFile(name: SqliteDriverName, file: string, busyTimeoutMs: number): Promise<Driver> {
  if (name === 'better-sqlite3') {
    const Driver = await loadPeer<typeof BetterSqlite3>('better-sqlite3', 'vonage-messenger/sqlite');
    return betterSqliteDriver(new Driver(file, { timeout: busyTimeoutMs }));
  }
  let db: BuiltinDatabase;
  try {
    if (name === 'bun:sqlite') {
      const { Database } = (await import(name)) as { Database: new (file: string) => BuiltinDatabase };
      db = new Database(file);
    } else {
      const { DatabaseSync } = (await import(name)) as { DatabaseSync: new (file: string) => BuiltinDatabase };
      db = new DatabaseSync(file);
    }
  } catch (error) {
    const where = name === 'bun:sqlite' ? 'Bun' : 'Node 22.13 or later, or Deno 2.2 or later';
    throw new Error(`vonage-messenger/sqlite: driver '${name}' needs ${where} (${(error as Error).message})`, {
      cause: error,
    });
  }
  db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  return builtinDriver(name, db);
}
