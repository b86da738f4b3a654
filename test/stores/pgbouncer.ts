/**
 * A throwaway PgBouncer in transaction mode in front of the local PostgreSQL, for one test
 * file: the pooler that Supabase, Heroku and many Lambda deployments put between an app and
 * its database. Started on a random port, stopped after the file. PgBouncer refuses to run as
 * root, so under root it runs as the `postgres` user. Under CI=true a missing binary fails the
 * file with how to install it (.ci/run installs Debian's package); elsewhere the file skips
 * (`pgBouncerRuns`), as the browser test does without Chromium.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PG_CONFIG } from './services.js';

const BINARY = '/usr/sbin/pgbouncer';

/** Whether the PgBouncer tests run: always under CI=true, elsewhere when PgBouncer is installed. */
export const pgBouncerRuns = process.env.CI === 'true' || existsSync(BINARY);

export interface LocalPgBouncer {
  /** Connection settings through the pooler (set in `beforeAll`). */
  readonly config: pg.PoolConfig;
}

/** `serverConnections`: PgBouncer's pool size; a small one makes clients share connections. */
export function usePgBouncer(serverConnections = 2): LocalPgBouncer {
  // Above 6432, where a system PgBouncer listens by default.
  const port = 6500 + Math.floor(Math.random() * 500);
  const bouncer = { config: { host: '127.0.0.1', port, user: PG_CONFIG.user, database: PG_CONFIG.database } };
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    if (spawnSync(BINARY, ['--version']).status !== 0) {
      throw new Error(`PgBouncer is not installed at ${BINARY}: apt-get install -y pgbouncer (.ci/run does)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'vm-pgbouncer-'));
    writeFileSync(join(dir, 'users.txt'), `"${PG_CONFIG.user}" ""\n`);
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      `[databases]
${PG_CONFIG.database} = host=${PG_CONFIG.host} port=${PG_CONFIG.port} dbname=${PG_CONFIG.database} user=${PG_CONFIG.user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
pool_mode = transaction
default_pool_size = ${serverConnections}
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
`,
    );
    const root = process.getuid?.() === 0;
    if (root) {
      // The postgres user must read the files; the directory is removed after the file.
      const { uid, gid } = userIds('postgres');
      chmodSync(dir, 0o755);
      for (const file of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, file), uid, gid);
    }
    const ini = join(dir, 'pgbouncer.ini');
    child = root
      ? spawn('runuser', ['-u', 'postgres', '--', BINARY, ini], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(BINARY, [ini], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    for (let attempt = 0; ; attempt++) {
      const client = new pg.Client({ ...bouncer.config, connectionTimeoutMillis: 500 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        break;
      } catch (error) {
        await client.end().catch(() => {});
        if (attempt >= 50 || child.exitCode !== null) {
          throw new Error(`PgBouncer did not start on port ${port}: ${String(error)}\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }, 30_000);
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return bouncer;
}

function userIds(name: string): { uid: number; gid: number } {
  const out = spawnSync('id', ['-u', name]).stdout.toString().trim();
  const group = spawnSync('id', ['-g', name]).stdout.toString().trim();
  if (out === '' || group === '') throw new Error(`no ${name} user to run PgBouncer as (it refuses root)`);
  return { uid: Number(out), gid: Number(group) };
}
