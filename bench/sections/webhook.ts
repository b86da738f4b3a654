/**
 * Webhook ingest: `messenger.receive` (verify + parse + record, with jti replay protection)
 * vs `@vonage/jwt`'s `verifySignature` + `JSON.parse`, and vs a floor written with
 * node:crypto (HMAC-SHA256 of the JWT, SHA-256 of the body, JSON.parse).
 *
 * Every request is signed before timing starts, each with a fresh jti and message_uuid, so
 * replay protection accepts every one and no signing cost is inside the timed loop. The
 * three contenders process the same requests.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { verifySignature } from '@vonage/jwt';
import { Redis } from 'ioredis';
import pg from 'pg';
import { measureApart } from '../lib/affinity.js';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { inProcess, pairedSlices, type Sample, type Sides } from '../lib/pairs.js';
import { dropBenchTables } from '../lib/pg-cleanup.js';
import { compare } from '../lib/report.js';
import { postgresServerPids, redisServerPids } from '../lib/servers.js';
import { inboundTextBody, type SignedRequest, signRequest } from '../lib/sign.js';
import { loadBuilt, loadCreateMessenger, loadMemoryStore, reportMissing } from '../lib/subject.js';

const SECTION = 'webhook';
/**
 * Requests per receive slice (and per floor slice), and verifySignature calls per slice: a
 * few milliseconds each.
 */
const RECEIVE_SLICE = 500;
const JWT_SLICE = 50;
/** Shared-store ingest: requests per slice and measured pairs of slices. */
const STORE_SLICE = 100;
const STORE_PAIRS = 100;

/** The least work a correct verifier can do: what the SDK is compared with as the floor. */
function floorVerify(request: SignedRequest, secret: string): unknown {
  const token = request.headers.authorization!.slice(7);
  const dot2 = token.lastIndexOf('.');
  const unsigned = token.slice(0, dot2);
  const expected = createHmac('sha256', secret).update(unsigned).digest();
  const given = Buffer.from(token.slice(dot2 + 1), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(unsigned.slice(unsigned.indexOf('.') + 1), 'base64url').toString()) as {
    payload_hash: string;
  };
  if (createHash('sha256').update(request.body).digest('hex') !== claims.payload_hash) throw new Error('bad hash');
  return JSON.parse(request.body);
}

function vonageVerify(request: SignedRequest, secret: string): unknown {
  if (!verifySignature(request.headers.authorization!.slice(7), secret)) throw new Error('bad signature');
  return JSON.parse(request.body);
}

export async function webhookSection(ctx: SectionContext): Promise<void> {
  const createMessenger = await loadCreateMessenger();
  if (createMessenger === undefined) {
    reportMissing(ctx, SECTION, ['ingest vs @vonage/jwt', 'ingest vs floor'], 'src/messenger.ts');
    return;
  }
  const { applicationId, privateKey, signatureSecret } = ctx.credentials;
  const memoryStore = await loadMemoryStore();
  const messenger = createMessenger({ applicationId, privateKey, signatureSecret, store: memoryStore() });
  if (typeof messenger.receive !== 'function') {
    reportMissing(ctx, SECTION, ['ingest vs @vonage/jwt', 'ingest vs floor'], 'messenger.receive (src/webhooks)');
    return;
  }

  const make = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      signRequest(
        inboundTextBody(PAGE_ID, psidFor(i % 1000), randomUUID(), new Date()),
        signatureSecret,
        applicationId,
      ),
    );
  const signStart = process.hrtime.bigint();
  // The baselines keep no state: they take the same requests every slice.
  const reused = make(RECEIVE_SLICE);
  const signUs = Number(process.hrtime.bigint() - signStart) / 1000 / RECEIVE_SLICE;

  const receive = (r: SignedRequest) => messenger.receive({ headers: r.headers, body: r.body });
  const vonage = (r: SignedRequest) => vonageVerify(r, signatureSecret);
  const floor = (r: SignedRequest) => floorVerify(r, signatureSecret);
  // A receive slice is signed before its clock starts: a token is accepted once.
  const receiveSlice = async (): Promise<Sample> => {
    const requests = make(RECEIVE_SLICE);
    return inProcess(async () => {
      for (const r of requests) await receive(r);
      return requests.length;
    })();
  };
  const baselineSlice = (verify: (r: SignedRequest) => unknown, n: number) =>
    inProcess(async () => {
      for (let i = 0; i < n; i++) verify(reused[i]!);
      return n;
    });
  const warmUp = ctx.quick ? 2 : 10;
  const floorPairs = ctx.quick ? 10 : 60;
  const jwtPairs = ctx.quick ? 5 : 20;

  ctx.log('webhook: receive vs the node:crypto floor');
  await pairedSlices(warmUp, receiveSlice, baselineSlice(floor, RECEIVE_SLICE));
  const vsFloor = await pairedSlices(floorPairs, receiveSlice, baselineSlice(floor, RECEIVE_SLICE));
  ctx.log('webhook: receive vs @vonage/jwt');
  await pairedSlices(warmUp, baselineSlice(vonage, JWT_SLICE), receiveSlice);
  const vsJwt = await pairedSlices(jwtPairs, baselineSlice(vonage, JWT_SLICE), receiveSlice);

  const how = (pairs: number, baseline: string, sides: Sides) =>
    `${warmUp} warm-up pairs, then ${pairs} pairs of slices (${RECEIVE_SLICE} receive calls, ${baseline}), alternating which goes first; each receive pre-signed with a fresh jti and message_uuid (signing, ${signUs.toFixed(1)} µs/request, is outside the clock); figure = median of per-pair CPU-time ratios (interquartile ${sides.p25.toFixed(3)}–${sides.p75.toFixed(3)}); wall-time median ratio ${sides.wallRatio.toFixed(3)}`;
  const stateNote =
    'receive includes the memory store (replay claim + recordInbound); the baselines do no state work and no claim checks';
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: 'ingest vs @vonage/jwt',
      subject: { label: 'messenger.receive, CPU', value: vsJwt.b, unit: 'µs/op' },
      baseline: { label: 'verifySignature + JSON.parse, CPU', value: vsJwt.a, unit: 'µs/op' },
      ratio: vsJwt.ratio,
      ratioMeaning: '× faster',
      target: { kind: 'min', value: 30, text: '≥ 30× faster' },
      notes: [how(jwtPairs, `${JWT_SLICE} verifySignature calls`, vsJwt), stateNote],
    }),
  );
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: 'ingest vs node:crypto floor',
      subject: { label: 'messenger.receive, CPU', value: vsFloor.a, unit: 'µs/op' },
      baseline: { label: 'HMAC + SHA-256 + JSON.parse, CPU', value: vsFloor.b, unit: 'µs/op' },
      ratio: vsFloor.ratio,
      ratioMeaning: '× the floor',
      target: { kind: 'max', value: 2, text: '≤ 2× the floor' },
      notes: [how(floorPairs, `${RECEIVE_SLICE} floor checks`, vsFloor), stateNote],
    }),
  );
  await messenger.close?.();
  await sharedStoreIngest(ctx, createMessenger, make);
}

/**
 * A verified inbound webhook with a shared store (claim, dedupe, window, Page, in one store
 * call) vs the node:crypto floor plus the client's cheapest round trip, request by request in
 * one run: the target is that the store costs about one round trip.
 */
async function sharedStoreIngest(
  ctx: SectionContext,
  createMessenger: NonNullable<Awaited<ReturnType<typeof loadCreateMessenger>>>,
  make: (n: number) => SignedRequest[],
): Promise<void> {
  const { applicationId, privateKey, signatureSecret } = ctx.credentials;
  const redisStore = await loadBuilt<typeof import('../../src/store/redis.js').redisStore>('redis', 'redisStore');
  const postgresStore = await loadBuilt<typeof import('../../src/store/postgres.js').postgresStore>(
    'postgres',
    'postgresStore',
  );
  if (redisStore === undefined || postgresStore === undefined)
    throw new Error('dist/ lacks redisStore or postgresStore');
  const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 4 });
  const prefix = `vm-bench-${randomUUID().slice(0, 8)}:`;
  const table = `vm_bench_${randomUUID().slice(0, 8).replace(/-/g, '')}`;
  const asyncTable = `${table}a`;
  const pgStore = postgresStore({ pool, table });
  const pgAsyncStore = postgresStore({ pool, table: asyncTable, synchronousCommit: false });
  try {
    await pgStore.createTables();
    await pgAsyncStore.createTables();
    const backends = [
      {
        name: 'Redis',
        store: redisStore({ client: redis, prefix }),
        rawLabel: 'floor + one raw GET',
        raw: () => redis.get(`${prefix}raw`),
        serverPids: () => redisServerPids(redis),
      },
      {
        name: 'PostgreSQL',
        store: pgStore,
        rawLabel: 'floor + pg SELECT 1',
        raw: () => pool.query('SELECT 1'),
        serverPids: () => postgresServerPids(pool),
      },
      {
        // Same round trip, without the commit's WAL flush wait (the option's trade-off: docs/stores.md).
        name: 'PostgreSQL',
        option: 'synchronousCommit: false',
        measuredAgainst: 'floor + SELECT 1',
        store: pgAsyncStore,
        rawLabel: 'floor + pg SELECT 1',
        raw: () => pool.query('SELECT 1'),
        serverPids: () => postgresServerPids(pool),
      },
    ];
    for (const backend of backends) {
      const messenger = createMessenger({ applicationId, privateKey, signatureSecret, store: backend.store });
      const receive = (r: SignedRequest) => messenger.receive({ headers: r.headers, body: r.body });
      const floorPlusTrip = async (r: SignedRequest) => {
        floorVerify(r, signatureSecret);
        await backend.raw();
      };
      // A slice signs its requests before its clock starts: a fresh message_uuid each.
      const side = (op: (r: SignedRequest) => Promise<unknown>) => async (): Promise<Sample> => {
        const requests = make(STORE_SLICE);
        return inProcess(async () => {
          for (const r of requests) await op(r);
          return requests.length;
        })();
      };
      const pairs = ctx.quick ? 20 : STORE_PAIRS;
      const warmUp = ctx.quick ? 5 : 30;
      ctx.log(`webhook: ${backend.name}${backend.option === undefined ? '' : ` (${backend.option})`}`);
      const { value: sides, placement } = await measureApart(await backend.serverPids(), async () => {
        await pairedSlices(warmUp, side(receive), side(floorPlusTrip));
        return pairedSlices(pairs, side(receive), side(floorPlusTrip));
      });
      ctx.comparisons.push(
        compare({
          section: SECTION,
          name: `ingest with the ${backend.name} store${backend.option === undefined ? '' : ` (${backend.option})`} vs ${backend.measuredAgainst ?? 'floor + one round trip'}`,
          subject: {
            label: `messenger.receive (${backend.name}${backend.option === undefined ? '' : `, ${backend.option}`})`,
            value: sides.wallA,
            unit: 'µs/op',
          },
          baseline: { label: backend.rawLabel, value: sides.wallB, unit: 'µs/op' },
          ratio: sides.wallRatio,
          ratioMeaning: '× floor + round trip',
          target: { kind: 'max', value: 1.3, text: '≤ 1.3× floor + one round trip' },
          notes: [
            `sequential; ${pairs} pairs of ${STORE_SLICE} requests after ${warmUp} warm-up pairs, alternating which goes first; a fresh message_uuid each (the non-duplicate path); ${placement}; ratio = median of per-pair wall-time ratios (the server's time counts; interquartile ${sides.wallP25.toFixed(3)}–${sides.wallP75.toFixed(3)}); CPU-time median ratio ${sides.ratio.toFixed(3)}`,
          ],
        }),
      );
      await messenger.close?.();
    }
  } finally {
    // `table` is a prefix of `asyncTable`.
    await dropBenchTables(pool, table).catch(() => {});
    await pool.end();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
}
