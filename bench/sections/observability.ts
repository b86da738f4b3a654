/**
 * What observability costs. Two pairs of rows, each measured side by side in one process,
 * alternating the two sides round by round:
 * - "channels, unsubscribed": the SDK with its diagnostics channels and nobody listening, vs
 *   the same source bundled with the channel modules swapped for pass-throughs (target ≤ 2 %);
 * - "OpenTelemetry on": `enableOpenTelemetry` subscribed (an SDK MeterProvider and a
 *   BasicTracerProvider with a batch processor, exporting nowhere), vs unsubscribed
 *   (target ≤ 15 %).
 * Each for a guarded send (sequential, against the loopback 202 server) and for webhook
 * ingest (`messenger.receive` of pre-signed requests).
 */
import { randomUUID } from 'node:crypto';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { median, throughput } from '../lib/measure.js';
import { compare } from '../lib/report.js';
import { startStubApi } from '../lib/server.js';
import { inboundTextBody, type SignedRequest, signRequest } from '../lib/sign.js';
import { type MessengerLike, openWindow } from '../lib/subject.js';
import { loadVariants } from '../lib/variants.js';

const SECTION = 'observability';
const TEXT = 'Your order #1234 has shipped and will arrive on Thursday.';
const CHUNK = 500;

class SilentReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const nowhere: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

/** Runs `a` and `b` in alternating rounds; each side's median µs per op. */
async function sideBySide(
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number, number, number[]]> {
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which side goes first, so that drift within a round hits both alike.
    let x: number;
    let y: number;
    if (i % 2 === 0) {
      x = await a();
      y = await b();
    } else {
      y = await b();
      x = await a();
    }
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return [median(as), median(bs), ratios];
}

export async function observabilitySection(ctx: SectionContext): Promise<void> {
  const { applicationId, privateKey, signatureSecret } = ctx.credentials;
  ctx.log('observability: bundling the two variants');
  const { channels, none } = await loadVariants();
  const stub = await startStubApi();
  const messengers: MessengerLike[] = [];
  const make = (v: typeof none) => {
    const m = v.createMessenger({
      applicationId,
      privateKey,
      signatureSecret,
      apiHost: stub.url,
      store: v.memoryStore(),
    });
    messengers.push(m);
    return m;
  };
  try {
    const withChannels = make(channels);
    const without = make(none);
    const user = psidFor(1);
    await openWindow(withChannels, user);
    await openWindow(without, user);
    const sendWith = () => withChannels.sendText({ from: PAGE_ID, to: user, text: TEXT });
    const sendWithout = () => without.sendText({ from: PAGE_ID, to: user, text: TEXT });

    const reader = new SilentReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(nowhere)] });
    const withOtel = async <T>(run: () => Promise<T>): Promise<T> => {
      const disable = channels.enableOpenTelemetry({ meterProvider, tracerProvider });
      try {
        return await run();
      } finally {
        disable();
      }
    };

    // Sends: µs per send at concurrency 1, from a fixed-duration window.
    const ms = ctx.quick ? 400 : 1500;
    const rounds = ctx.quick ? 2 : 6;
    const perSend = async (send: () => Promise<unknown>) =>
      1e6 / (await throughput(send, { concurrency: 1, durationMs: ms, warmupMs: ms / 3 }));
    ctx.log('observability: send, channels unsubscribed vs none');
    const [sc, sn, sRatios] = await sideBySide(
      rounds,
      () => perSend(sendWith),
      () => perSend(sendWithout),
    );
    pushRow(
      ctx,
      'send: channels present, unsubscribed',
      'sendText (channels, nobody listening)',
      sc,
      'sendText (no channels)',
      sn,
      1.02,
      '≤ 2 %',
      sRatios,
      `${rounds} alternating ${ms} ms windows, concurrency 1`,
    );
    ctx.log('observability: send, OpenTelemetry on vs off');
    const [so, sf, soRatios] = await sideBySide(
      rounds,
      () => withOtel(() => perSend(sendWith)),
      () => perSend(sendWith),
    );
    pushRow(
      ctx,
      'send: enableOpenTelemetry on',
      'sendText (OpenTelemetry on)',
      so,
      'sendText (off)',
      sf,
      1.15,
      '≤ 15 %',
      soRatios,
      `${rounds} alternating ${ms} ms windows, concurrency 1; a span, a counter and a histogram per send, 2–3 store histograms`,
    );

    // Ingest: µs per receive over pre-signed requests, fresh for every side and round.
    const perRound = ctx.quick ? 2_000 : 6_000;
    const sign = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        signRequest(
          inboundTextBody(PAGE_ID, psidFor(i % 1000), randomUUID(), new Date()),
          signatureSecret,
          applicationId,
        ),
      );
    const perReceive = async (m: MessengerLike, requests: SignedRequest[]) => {
      const chunks: number[] = [];
      for (let i = 0; i < requests.length; i += CHUNK) {
        const end = Math.min(requests.length, i + CHUNK);
        const start = process.hrtime.bigint();
        for (let j = i; j < end; j++) await m.receive({ headers: requests[j]!.headers, body: requests[j]!.body });
        chunks.push(Number(process.hrtime.bigint() - start) / (end - i) / 1000);
      }
      return median(chunks);
    };
    ctx.log('observability: ingest warm-up');
    await perReceive(withChannels, sign(2_000));
    await perReceive(without, sign(2_000));
    ctx.log('observability: ingest, channels unsubscribed vs none');
    const [ic, inn, iRatios] = await sideBySide(
      rounds,
      () => perReceive(withChannels, sign(perRound)),
      () => perReceive(without, sign(perRound)),
    );
    pushRow(
      ctx,
      'ingest: channels present, unsubscribed',
      'receive (channels, nobody listening)',
      ic,
      'receive (no channels)',
      inn,
      1.02,
      '≤ 2 %',
      iRatios,
      `${rounds} alternating rounds × ${perRound} pre-signed requests; median of per-${CHUNK} chunk means`,
    );
    ctx.log('observability: ingest, OpenTelemetry on vs off');
    const [io, iff, ioRatios] = await sideBySide(
      rounds,
      () => withOtel(() => perReceive(withChannels, sign(perRound))),
      () => perReceive(withChannels, sign(perRound)),
    );
    pushRow(
      ctx,
      'ingest: enableOpenTelemetry on',
      'receive (OpenTelemetry on)',
      io,
      'receive (off)',
      iff,
      1.15,
      '≤ 15 %',
      ioRatios,
      `${rounds} alternating rounds × ${perRound} requests; a span and a counter per webhook, 3 store histograms`,
    );
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  } finally {
    for (const m of messengers) await m.close?.();
    await stub.close();
  }
}

function pushRow(
  ctx: SectionContext,
  name: string,
  subjectLabel: string,
  subject: number,
  baselineLabel: string,
  baseline: number,
  max: number,
  text: string,
  ratios: number[],
  note: string,
): void {
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name,
      subject: { label: subjectLabel, value: subject, unit: 'µs/op' },
      baseline: { label: baselineLabel, value: baseline, unit: 'µs/op' },
      ratio: subject / baseline,
      ratioMeaning: '× the cost',
      target: { kind: 'max', value: max, text },
      notes: [note, `per-round ratios: ${ratios.map((r) => r.toFixed(3)).join(', ')}`],
    }),
  );
}
