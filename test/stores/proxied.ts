/**
 * Store clients that reach Redis or PostgreSQL through a TCP proxy the test can cut, with the
 * fail-fast client settings docs/stores.md recommends. Shared by the fault tests of the
 * stores themselves and of a messenger over them.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { postgresStore } from '../../src/store/postgres.js';
import { eventually, type TcpProxy, tcpProxy } from './proxy.js';
import {
  connectPostgres,
  connectRedis,
  dropPostgresStore,
  dropRedisPrefix,
  PG_CONFIG,
  REDIS_PORT,
} from './services.js';

export interface Proxied<Client> {
  proxy: TcpProxy;
  client: Client;
  /** Closes the client and the proxy and removes what the test wrote. */
  close(): Promise<void>;
}

/** An ioredis client through a proxy; `close` also drops every key under `prefix`. */
export async function proxiedRedis(prefix: string): Promise<Proxied<Redis>> {
  const admin = await connectRedis();
  const proxy = await tcpProxy(REDIS_PORT);
  const client = new Redis({
    host: '127.0.0.1',
    port: proxy.port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 50, 500),
  });
  client.on('error', () => {});
  await eventually(() => client.ping());
  return {
    proxy,
    client,
    async close() {
      client.disconnect();
      await proxy.close();
      await dropRedisPrefix(admin, prefix);
      admin.disconnect();
    },
  };
}

/** A pg pool through a proxy, over tables `<table>_*` created first; `close` drops them. */
export async function proxiedPostgres(table: string): Promise<Proxied<pg.Pool>> {
  const admin = await connectPostgres();
  await postgresStore({ pool: admin, table }).createTables();
  const proxy = await tcpProxy(PG_CONFIG.port);
  const client = new pg.Pool({
    ...PG_CONFIG,
    port: proxy.port,
    max: 4,
    connectionTimeoutMillis: 1000,
    query_timeout: 1000,
  });
  client.on('error', () => {});
  return {
    proxy,
    client,
    async close() {
      await client.end();
      await proxy.close();
      await dropPostgresStore(admin, table);
      await admin.end();
    },
  };
}
