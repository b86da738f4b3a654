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
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { median } from '../lib/measure.js';
import { compare } from '../lib/report.js';
import { startStubApi } from '../lib/server.js';
import { inboundTextBody, type SignedRequest, signRequest } from '../lib/sign.js';
import { type MessengerLike, openWindow } from '../lib/subject.js';
import { loadVariants } from '../lib/variants.js';

const SECTION = 'observability';
const TEXT = 'Your order #1234 has shipped and will arrive on Thursday.';
const SEND_SLICE = 100;
const INGEST_SLICE = 500;

class SilentReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const nowhere: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

interface Sides {
  /** Median CPU µs per operation of each side. */
  a: number;
  b: number;
  /** Median of the per-pair ratios a/b (CPU time), and their spread. */
  ratio: number;
  p25: number;
  p75: number;
  /** The same from wall time, for the notes. */
  wallRatio: number;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

/**
 * Runs short slices of `a` and `b` in pairs, alternating which goes first, and compares
 * them pair by pair. CPU time per operation (`process.cpuUsage`) rather than wall time: on a
 * shared machine the process is descheduled for whole milliseconds, which wall time counts
 * and CPU time does not; slices of a few milliseconds put both sides under the same load.
 */
async function pairedSlices(pairs: number, a: () => Promise<number>, b: () => Promise<number>): Promise<Sides> {
  const measure = async (slice: () => Promise<number>) => {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const ops = await slice();
    const used = process.cpuUsage(cpu);
    return { cpu: (used.user + used.system) / ops, wall: ((performance.now() - wall) * 1000) / ops };
  };
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let x: { cpu: number; wall: number };
    let y: { cpu: number; wall: number };
    if (i % 2 === 0) {
      x = await measure(a);
      y = await measure(b);
    } else {
      y = await measure(b);
      x = await measure(a);
    }
    as.push(x.cpu);
    bs.push(y.cpu);
    ratios.push(x.cpu / y.cpu);
    wallRatios.push(x.wall / y.wall);
  }
  return {
    a: median(as),
    b: median(bs),
    ratio: median(ratios),
    p25: quantile(ratios, 0.25),
    p75: quantile(ratios, 0.75),
    wallRatio: median(wallRatios),
  };
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
    const withOtel = async <T>(run: () => Promise<T>, linkReplies = true): Promise<T> => {
      const disable = channels.enableOpenTelemetry({ meterProvider, tracerProvider, linkReplies });
      try {
        return await run();
      } finally {
        disable();
      }
    };

    // Sends: sequential, a slice of SEND_SLICE sends per side per pair.
    const pairs = ctx.quick ? 10 : 60;
    const sendSlice = (send: () => Promise<unknown>) => async () => {
      for (let i = 0; i < SEND_SLICE; i++) await send();
      return SEND_SLICE;
    };
    // Both "unsubscribed" rows run before anything subscribes in this process: once the
    // bridge has been on, the channels build's wrappers and store methods have run through
    // the timed paths too, and the JIT's view of that build's code no longer matches the
    // stub build's, a difference that has nothing to do with unsubscribed channels.
    ctx.log('observability: send warm-up');
    await pairedSlices(4, sendSlice(sendWith), sendSlice(sendWithout));
    ctx.log('observability: send, channels unsubscribed vs none');
    const s1 = await pairedSlices(pairs, sendSlice(sendWith), sendSlice(sendWithout));
    pushRow(
      ctx,
      'send: channels present, unsubscribed',
      'sendText (channels, nobody listening)',
      'sendText (no channels)',
      s1,
      1.02,
      '≤ 2 %',
      `${pairs} pairs of ${SEND_SLICE} sequential sends`,
    );
    // Ingest: a slice of INGEST_SLICE pre-signed requests per side per pair, fresh for each.
    const sign = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        signRequest(
          inboundTextBody(PAGE_ID, psidFor(i % 1000), randomUUID(), new Date()),
          signatureSecret,
          applicationId,
        ),
      );
    const ingestSlice = (m: MessengerLike) => {
      const requests: SignedRequest[] = sign(INGEST_SLICE);
      return async () => {
        for (const r of requests) await m.receive({ headers: r.headers, body: r.body });
        return requests.length;
      };
    };
    type Slice = () => Promise<number>;
    /** Signs every pair's requests first (outside the timed slices), then runs the pairs. */
    const paired = async (a: () => Slice, b: () => Slice, count = pairs) => {
      const slices = Array.from({ length: count }, () => [a(), b()] as const);
      let nextA = 0;
      let nextB = 0;
      return pairedSlices(
        count,
        () => slices[nextA++]![0](),
        () => slices[nextB++]![1](),
      );
    };
    ctx.log('observability: ingest warm-up');
    await paired(
      () => ingestSlice(withChannels),
      () => ingestSlice(without),
      4,
    );
    ctx.log('observability: ingest, channels unsubscribed vs none');
    const i1 = await paired(
      () => ingestSlice(withChannels),
      () => ingestSlice(without),
    );
    pushRow(
      ctx,
      'ingest: channels present, unsubscribed',
      'receive (channels, nobody listening)',
      'receive (no channels)',
      i1,
      1.02,
      '≤ 2 %',
      `${pairs} pairs of ${INGEST_SLICE} pre-signed requests`,
    );
    ctx.log('observability: send, OpenTelemetry on vs off');
    const s2 = await pairedSlices(pairs, () => withOtel(sendSlice(sendWith)), sendSlice(sendWith));
    pushRow(
      ctx,
      'send: enableOpenTelemetry on',
      'sendText (OpenTelemetry on)',
      'sendText (off)',
      s2,
      1.15,
      '≤ 15 %',
      `${pairs} pairs of ${SEND_SLICE} sequential sends; per send a span, a counter, a histogram and 3 store histograms (get, getPage, recordOutbound)`,
    );

    ctx.log('observability: ingest, OpenTelemetry on vs off');
    const i2 = await paired(
      () => {
        const slice = ingestSlice(withChannels);
        return () => withOtel(slice);
      },
      () => ingestSlice(withChannels),
    );
    pushRow(
      ctx,
      'ingest: enableOpenTelemetry on',
      'receive (OpenTelemetry on)',
      'receive (off)',
      i2,
      1.15,
      '≤ 15 %',
      `${pairs} pairs of ${INGEST_SLICE} requests; per request a span, a counter and 3 store histograms (claim, recordInbound, getPage)`,
    );
    ctx.log('observability: ingest, OpenTelemetry on with linkReplies: false vs off');
    const i3 = await paired(
      () => {
        const slice = ingestSlice(withChannels);
        return () => withOtel(slice, false);
      },
      () => ingestSlice(withChannels),
    );
    pushRow(
      ctx,
      'ingest: enableOpenTelemetry on, linkReplies: false',
      'receive (OpenTelemetry on, no AsyncLocalStorage)',
      'receive (off)',
      i3,
      1.15,
      '≤ 15 %',
      'as above, without the AsyncLocalStorage that links replies to their webhook',
    );
    ctx.log('observability: send, OpenTelemetry on with linkReplies: false vs off');
    const s3 = await pairedSlices(pairs, () => withOtel(sendSlice(sendWith), false), sendSlice(sendWith));
    pushRow(
      ctx,
      'send: enableOpenTelemetry on, linkReplies: false',
      'sendText (OpenTelemetry on, no AsyncLocalStorage)',
      'sendText (off)',
      s3,
      1.15,
      '≤ 15 %',
      `${pairs} pairs of ${SEND_SLICE} sequential sends, without the AsyncLocalStorage that links replies to their webhook`,
    );

    // An app that uses OpenTelemetry has its context manager's AsyncLocalStorage active on
    // both sides: then the bridge's own costs only its spans and instruments.
    const contextManager = new AsyncLocalStorage<object>();
    contextManager.enterWith({});
    try {
      ctx.log('observability: with an active AsyncLocalStorage (a context manager), send');
      const s4 = await pairedSlices(pairs, () => withOtel(sendSlice(sendWith)), sendSlice(sendWith));
      pushRow(
        ctx,
        'send: enableOpenTelemetry on, context manager active',
        'sendText (OpenTelemetry on)',
        'sendText (off)',
        s4,
        1.15,
        '≤ 15 %',
        `${pairs} pairs of ${SEND_SLICE} sequential sends, an AsyncLocalStorage active on both sides (as OpenTelemetry's context manager keeps one)`,
      );
      ctx.log('observability: with an active AsyncLocalStorage (a context manager), ingest');
      const i4 = await paired(
        () => {
          const slice = ingestSlice(withChannels);
          return () => withOtel(slice);
        },
        () => ingestSlice(withChannels),
      );
      pushRow(
        ctx,
        'ingest: enableOpenTelemetry on, context manager active',
        'receive (OpenTelemetry on)',
        'receive (off)',
        i4,
        1.15,
        '≤ 15 %',
        `${pairs} pairs of ${INGEST_SLICE} requests, an AsyncLocalStorage active on both sides`,
      );
    } finally {
      contextManager.disable();
    }
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
  baselineLabel: string,
  sides: Sides,
  max: number,
  text: string,
  note: string,
): void {
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name,
      subject: { label: `${subjectLabel}, CPU`, value: sides.a, unit: 'µs/op' },
      baseline: { label: `${baselineLabel}, CPU`, value: sides.b, unit: 'µs/op' },
      ratio: sides.ratio,
      ratioMeaning: '× the cost',
      target: { kind: 'max', value: max, text },
      notes: [
        `${note}; ratio = median of per-pair CPU-time ratios (interquartile ${sides.p25.toFixed(3)}–${sides.p75.toFixed(3)}); wall-time median ratio ${sides.wallRatio.toFixed(3)}`,
      ],
    }),
  );
}
