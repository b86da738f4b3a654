/**
 * A throwaway local Redis Cluster (3 masters) for one test file, started by
 * scripts/redis-cluster.sh on a random port block and stopped after the file. Under CI=true a
 * cluster that cannot start fails the file; it never skips.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { connectCluster } from './fixtures/backend.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));

export interface LocalCluster {
  /** A client connected to it (set in `beforeAll`). */
  client: Cluster;
  /** The first master's port (the others follow it). */
  readonly port: number;
}

export function useRedisCluster(): LocalCluster {
  // A random port block per file, so concurrent files (and their bus ports, +10000) never collide.
  const cluster = { port: 7100 + 3 * Math.floor(Math.random() * 250) } as LocalCluster;
  beforeAll(async () => {
    try {
      await run('bash', [script, 'start', String(cluster.port)], { timeout: 30_000 });
    } catch (error) {
      throw new Error(`Could not start a local Redis Cluster with scripts/redis-cluster.sh: ${String(error)}`);
    }
    cluster.client = connectCluster(cluster.port);
    await cluster.client.ping();
  }, 60_000);
  afterAll(async () => {
    cluster.client?.disconnect();
    await run('bash', [script, 'stop', String(cluster.port)], { timeout: 30_000 });
  }, 60_000);
  return cluster;
}
