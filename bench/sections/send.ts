/**
 * Guarded send vs the raw Vonage SDK, and a blocked send vs a raw send, against the same
 * loopback 202 server. The raw SDK signs a fresh RS256 JWT per request (its documented
 * behaviour); the SDK under test caches one.
 */

import { Agent, request as httpRequest } from 'node:http';
import { MessengerCategory, MessengerText } from '@vonage/messages';
import { Vonage } from '@vonage/server-sdk';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { alternate, throughput, timeTasksRounds } from '../lib/measure.js';
import { inProcess, pairedSlices } from '../lib/pairs.js';
import { compare } from '../lib/report.js';
import { startStubApi } from '../lib/server.js';
import { loadCreateMessenger, loadMemoryStore, openWindow, reportMissing } from '../lib/subject.js';

const SECTION = 'send';
const BARE_SLICE = 100;
const TEXT = 'Your order #1234 has shipped and will arrive on Thursday.';

export async function sendSection(ctx: SectionContext): Promise<void> {
  const createMessenger = await loadCreateMessenger();
  if (createMessenger === undefined) {
    reportMissing(
      ctx,
      SECTION,
      ['guarded send sequential', 'guarded send concurrency 32', 'blocked send'],
      'src/messenger.ts',
    );
    return;
  }
  const memoryStore = await loadMemoryStore();
  const stub = await startStubApi();
  try {
    const { applicationId, privateKey } = ctx.credentials;
    const vonage = new Vonage({ applicationId, privateKey }, { apiHost: stub.url });
    const messenger = createMessenger({ applicationId, privateKey, apiHost: stub.url, store: memoryStore() });
    const viaSdk = createMessenger({
      applicationId,
      privateKey,
      apiHost: stub.url,
      store: memoryStore(),
      transport: 'vonage-sdk',
    });
    const open = psidFor(1);
    const closed = psidFor(2);
    await openWindow(messenger, open);
    await openWindow(messenger, closed, 25 * 60 * 60 * 1000);
    await openWindow(viaSdk, open);

    const guarded = () => messenger.sendText({ from: PAGE_ID, to: open, text: TEXT });
    const guardedViaSdk = () => viaSdk.sendText({ from: PAGE_ID, to: open, text: TEXT });
    const raw = () =>
      vonage.messages.send(
        new MessengerText({ from: PAGE_ID, to: open, text: TEXT, messenger: { category: MessengerCategory.RESPONSE } }),
      );

    // Both must really reach the server before they are timed.
    stub.reset();
    await guarded();
    const token = stub.lastAuthorization;
    if (token === undefined) throw new Error('the guarded send reached the stub without an authorization header');
    await raw();
    await guardedViaSdk();
    if (stub.requests !== 3) throw new Error(`expected 3 requests at the stub, saw ${stub.requests}`);

    const ms = ctx.quick ? 400 : 1500;
    const rounds = ctx.quick ? 1 : 3;

    // The least a client can do for one send: a keep-alive POST of the same JSON with a
    // precomputed bearer header, reading the answer. The header is the very one the guarded
    // send sent: Node checks and writes its 569 bytes on every request. What the guarded send
    // adds on top of it is validation, the rules, the store reads and the JWT cache.
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const url = new URL('/v1/messages', stub.url);
    const bareBody = JSON.stringify({
      message_type: 'text',
      text: TEXT,
      to: open,
      from: PAGE_ID,
      channel: 'messenger',
      messenger: { category: 'response' },
    });
    const bareHeaders = {
      authorization: token,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(bareBody)),
    };
    const bare = () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', agent, headers: bareHeaders }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            JSON.parse(Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
        });
        req.on('error', reject);
        req.end(bareBody);
      });
    {
      ctx.log('send: guarded vs a bare keep-alive POST');
      // Paired slices of 100 sequential sends, CPU time of this process (the client and the
      // stub server both run here, alike for both sides): wall-time rounds of 1.5 s moved by
      // ±8 % between runs, more than the distance to the target.
      const slice = (send: () => Promise<unknown>) =>
        inProcess(async () => {
          for (let i = 0; i < BARE_SLICE; i++) await send();
          return BARE_SLICE;
        });
      const pairs = ctx.quick ? 20 : 200;
      await pairedSlices(ctx.quick ? 5 : 30, slice(guarded), slice(bare));
      const sides = await pairedSlices(pairs, slice(guarded), slice(bare));
      ctx.comparisons.push(
        compare({
          section: SECTION,
          name: 'guarded send (memory store) vs a bare keep-alive POST',
          subject: { label: 'messenger.sendText, CPU', value: sides.a, unit: 'µs/op' },
          baseline: { label: 'http.request POST, precomputed bearer, CPU', value: sides.b, unit: 'µs/op' },
          ratio: sides.ratio,
          ratioMeaning: '× the bare POST',
          target: { kind: 'max', value: 1.15, text: '≤ 1.15× the bare POST' },
          notes: [
            `sequential; ${pairs} pairs of ${BARE_SLICE} sends after 30 warm-up pairs, alternating which goes first; both reach the same loopback stub in this process; ratio = median of per-pair CPU-time ratios (interquartile ${sides.p25.toFixed(3)}–${sides.p75.toFixed(3)}); wall-time median ratio ${sides.wallRatio.toFixed(3)}`,
          ],
        }),
      );
      agent.destroy();
    }
    for (const concurrency of [1, 32]) {
      ctx.log(`send: throughput at concurrency ${concurrency}`);
      const opts = { concurrency, durationMs: ms, warmupMs: ms / 3 };
      const [subject, baseline] = await alternate(
        rounds,
        () => throughput(guarded, opts),
        () => throughput(raw, opts),
      );
      ctx.comparisons.push(
        compare({
          section: SECTION,
          name: concurrency === 1 ? 'guarded send, sequential' : `guarded send, concurrency ${concurrency}`,
          subject: { label: 'messenger.sendText', value: subject, unit: 'msgs/s' },
          baseline: { label: '@vonage/server-sdk messages.send', value: baseline, unit: 'msgs/s' },
          ratio: subject / baseline,
          ratioMeaning: '× raw throughput',
          target: { kind: 'min', value: 3, text: '≥ 3× raw' },
          notes: concurrency === 1 ? [`median of ${rounds} alternating ${ms} ms windows`] : undefined,
        }),
      );
      const [sdkSubject, sdkBaseline] = await alternate(
        rounds,
        () => throughput(guardedViaSdk, opts),
        () => throughput(raw, opts),
      );
      ctx.comparisons.push(
        compare({
          section: SECTION,
          name: `guarded send via transport 'vonage-sdk', ${concurrency === 1 ? 'sequential' : `concurrency ${concurrency}`}`,
          subject: { label: "messenger.sendText (transport: 'vonage-sdk')", value: sdkSubject, unit: 'msgs/s' },
          baseline: { label: '@vonage/server-sdk messages.send', value: sdkBaseline, unit: 'msgs/s' },
          ratio: sdkSubject / sdkBaseline,
          ratioMeaning: '× raw throughput',
          target: { kind: 'min', value: 3, text: '≥ 3× raw' },
          notes: [`default transport in the same run: ${Math.round(subject)} msgs/s`],
        }),
      );
    }

    ctx.log('send: blocked vs raw');
    const blocked = async () => {
      try {
        await messenger.sendText({ from: PAGE_ID, to: closed, text: TEXT });
      } catch (error) {
        if ((error as { code?: string }).code !== undefined) return;
        throw error;
      }
      throw new Error('a send to a closed window was allowed');
    };
    stub.reset();
    const blockedOnly = await timeTasksRounds({ blocked }, rounds, { time: ctx.quick ? 300 : 500 });
    const requestsWhileBlocked = stub.requests;
    const rawOnly = await timeTasksRounds({ raw }, rounds, { time: ctx.quick ? 300 : 500 });
    const b = blockedOnly.blocked!;
    const r = rawOnly.raw!;
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: 'blocked send (window closed)',
        subject: { label: 'sendText → WindowClosedError', value: b.meanNs / 1000, unit: 'µs/op' },
        baseline: { label: 'raw messages.send', value: r.meanNs / 1000, unit: 'µs/op' },
        ratio: b.meanNs / r.meanNs,
        ratioMeaning: 'of raw cost',
        target: { kind: 'max', value: 0.01, text: '≤ 1 % of raw' },
        notes: [`${b.samples} blocked sends; the server saw ${requestsWhileBlocked} requests for them (must be 0)`],
      }),
    );
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: 'blocked sends reaching the server',
        subject: { label: 'requests', value: requestsWhileBlocked, unit: 'requests' },
        ratio: requestsWhileBlocked,
        ratioMeaning: 'requests',
        target: { kind: 'max', value: 0, text: '0 requests' },
      }),
    );
    await messenger.close?.();
    await viaSdk.close?.();
  } finally {
    await stub.close();
  }
}
