import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { redisStore } from '../../src/store/redis.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { describeDelivery } from '../delivery/suite.js';
import { describeOptionShapes } from '../options/shapes.js';
import { runId } from './services.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));
// A random port block per run, so concurrent runs (and their bus ports, +10000) never collide.
const firstPort = 7100 + 3 * Math.floor(Math.random() * 250);
const prefix = `vm-cluster-${runId()}:`;
let client: Cluster;

beforeAll(async () => {
  try {
    await run('bash', [script, 'start', String(firstPort)], { timeout: 30_000 });
  } catch (error) {
    throw new Error(`Could not start a local Redis Cluster with scripts/redis-cluster.sh: ${String(error)}`);
  }
  client = new Cluster([{ host: '127.0.0.1', port: firstPort }], {
    redisOptions: { connectTimeout: 2000, maxRetriesPerRequest: 2 },
    clusterRetryStrategy: (times) => (times > 10 ? null : 100),
  });
  client.on('error', () => {});
  await client.ping();
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await run('bash', [script, 'stop', String(firstPort)], { timeout: 30_000 });
}, 60_000);

describeSessionStore('redisStore on Redis Cluster (3 masters)', () => redisStore({ client, prefix }));
describeDelivery('redisStore on Redis Cluster (3 masters)', () => redisStore({ client, prefix }));
describeOptionShapes('redisStore on Redis Cluster (3 masters)', () => redisStore({ client, prefix }));

describe('redisStore on Redis Cluster', () => {
  it('keeps each operation in one hash slot while conversations spread over every master', async () => {
    const store = redisStore({ client, prefix });
    const slots = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const key = conversationKey(pageId(String(1000 + i)), psid(String(5000 + 7 * i)));
      await store.recordInbound(key, Date.now(), `m-${i}`);
      const [conv, seen] = await Promise.all([
        client.cluster('KEYSLOT', `${prefix}c:{${key.split(':')[0]}}:${key.split(':')[1]}`) as Promise<number>,
        client.cluster('KEYSLOT', `${prefix}p:{${key.split(':')[0]}}`) as Promise<number>,
      ]);
      expect(seen).toBe(conv);
      slots.add(conv);
      await store.delete(key);
      expect(await store.get(key)).toBeNull();
    }
    const masters = client.nodes('master');
    expect(masters).toHaveLength(3);
    const owners = new Set<number>();
    const shards = (await client.cluster('SHARDS')) as unknown[];
    expect(shards.length).toBe(3);
    for (const slot of slots) owners.add(slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
    expect(owners.size).toBe(3);
  });
});
