/**
 * The processes of the loopback servers a row compares against, for pinning them apart from
 * the bench (affinity.ts).
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';

/** `redis-server`'s pid, from `INFO server`; none when the server does not say. */
export async function redisServerPids(client: Redis): Promise<number[]> {
  const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
  return Number.isInteger(pid) ? [pid] : [];
}

/**
 * Every backend and auxiliary process `pg_stat_activity` lists (the WAL writer, the
 * checkpointer, …, and the pool's own connections, which must be open already). The
 * postmaster is not listed; a connection opened later starts on its placement.
 */
export async function postgresServerPids(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL');
  return rows.map((r) => r.pid);
}
