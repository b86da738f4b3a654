/**
 * What observability costs. Two kinds of rows, each comparing two sides slice by slice,
 * alternating which goes first:
 * - "channels, unsubscribed" (one process): the SDK with its diagnostics channels and nobody
 *   listening, vs the same source bundled with the channel modules swapped for pass-throughs
 *   (target ≤ 2 %);
 * - "OpenTelemetry on" (two processes, bench/otel-child.ts): the bridge enabled once at
 *   start-up (an SDK MeterProvider and a BasicTracerProvider with a batch processor,
 *   exporting nowhere) vs never enabled (target ≤ 15 %).
 * Each for a guarded send (sequential, against the loopback 202 server) and for webhook
 * ingest (`messenger.receive` of pre-signed requests). Five more "on" rows without a target:
 * traces sampled 1 in 10, then the cost split by provider: metrics only, traces only, spans
 * from a no-op tracer (the bridge's span work without the SDK's), neither recording.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pinApart } from '../lib/affinity.js';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { inProcess, pairedSlices, type Sample, type Sides } from '../lib/pairs.js';
import { compare } from '../lib/report.js';
import { startStubApi } from '../lib/server.js';
import { inboundTextBody, type SignedRequest, signRequest } from '../lib/sign.js';
import { type MessengerLike, openWindow } from '../lib/subject.js';
import { loadVariants } from '../lib/variants.js';
import type { ChildConfig, FromChild, ToChild } from '../otel-child.js';

const SECTION = 'observability';
const TEXT = 'Your order #1234 has shipped and will arrive on Thursday.';
const SEND_SLICE = 100;
const INGEST_SLICE = 500;
/**
 * Pairs run before the measured ones in each pair of processes: V8 compiles the SDK's and the
 * bridge's code over the first few thousand sends, once per process.
 */
const WARM_UP_PAIRS = 30;
const CHILD_PAIRS = 200;

const CHILD = fileURLToPath(new URL('../otel-child.ts', import.meta.url));

/** A bench child (bench/otel-child.ts) and the slices it runs on request. */
interface Child {
  pid: number;
  slice(kind: 'send' | 'ingest', ops: number): Promise<Sample>;
  exit(): Promise<void>;
}

async function forkChild(init: Extract<ToChild, { type: 'init' }>): Promise<Child> {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ask = (message: ToChild) =>
    new Promise<FromChild>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench/otel-child.ts exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (answer: FromChild) => {
        child.off('exit', onExit);
        resolve(answer);
      });
      child.send(message);
    });
  await ask(init);
  return {
    pid: child.pid as number,
    async slice(kind, ops) {
      const answer = await ask({ type: 'slice', kind, ops });
      if (answer.type !== 'sample') throw new Error(`bench/otel-child.ts answered ${answer.type} to a slice`);
      return answer;
    },
    async exit() {
      child.send({ type: 'exit' } satisfies ToChild);
      await exited;
    },
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
  const pairs = ctx.quick ? 10 : 60;
  try {
    const withChannels = make(channels);
    const without = make(none);
    const user = psidFor(1);
    await openWindow(withChannels, user);
    await openWindow(without, user);
    const sendWith = () => withChannels.sendText({ from: PAGE_ID, to: user, text: TEXT });
    const sendWithout = () => without.sendText({ from: PAGE_ID, to: user, text: TEXT });

    // Sends: sequential, a slice of SEND_SLICE sends per side per pair.
    const sendSlice = (send: () => Promise<unknown>) =>
      inProcess(async () => {
        for (let i = 0; i < SEND_SLICE; i++) await send();
        return SEND_SLICE;
      });
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
      return inProcess(async () => {
        for (const r of requests) await m.receive({ headers: r.headers, body: r.body });
        return requests.length;
      });
    };
    type Slice = () => Promise<Sample>;
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
  } finally {
    for (const m of messengers) await m.close?.();
  }

  // OpenTelemetry on vs off: two processes of the same build, the bridge enabled once at
  // start-up in one of them (bench/otel-child.ts says why not one process).
  const warmUp = ctx.quick ? 5 : WARM_UP_PAIRS;
  // Each process's CPU time counts its own garbage collector and compiler threads, which
  // come in bursts: more pairs than in one process steady the median.
  const childPairs = ctx.quick ? 10 : CHILD_PAIRS;
  // The last five rows (sampled traces, then the split by provider: docs/performance.md)
  // carry no target.
  const setups: {
    suffix: string;
    config: Omit<ChildConfig, 'bridge'>;
    send: string;
    ingest: string;
    breakdown?: true;
  }[] = [
    {
      suffix: '',
      config: { linkReplies: true, contextManager: false, recording: 'both' },
      send: 'per send a span, a count, a histogram and 2 store histograms (readForSend, recordOutbound)',
      ingest: 'per request a span, a count and 1 store histogram (ingest)',
    },
    {
      suffix: ', linkReplies: false',
      config: { linkReplies: false, contextManager: false, recording: 'both' },
      send: 'without the AsyncLocalStorage that links replies to their webhook',
      ingest: 'without the AsyncLocalStorage that links replies to their webhook',
    },
    {
      suffix: ', context manager active',
      config: { linkReplies: true, contextManager: true, recording: 'both' },
      send: 'an AsyncLocalStorage active in both processes (as OpenTelemetry’s context manager keeps one)',
      ingest: 'an AsyncLocalStorage active in both processes',
    },
    {
      // What tracing usually costs in production, where traces are sampled: the bridge still
      // starts a span per request, and the SDK answers with a non-recording one 9 times in 10.
      suffix: ', 1 in 10 traces sampled',
      config: { linkReplies: true, contextManager: false, recording: 'both', sampleRatio: 0.1 },
      send: 'ParentBasedSampler(TraceIdRatioBasedSampler(0.1)): every metric, a recorded span for 1 send in 10',
      ingest: 'ParentBasedSampler(TraceIdRatioBasedSampler(0.1)): every metric, a recorded span for 1 request in 10',
      breakdown: true,
    },
    {
      suffix: ', metrics only',
      config: { linkReplies: true, contextManager: false, recording: 'metrics' },
      send: 'the API’s empty proxy TracerProvider: no span, the count and 3 histogram values recorded',
      ingest: 'the API’s empty proxy TracerProvider: no span, the count and 1 histogram value recorded',
      breakdown: true,
    },
    {
      suffix: ', traces only',
      config: { linkReplies: true, contextManager: false, recording: 'traces' },
      send: 'an SDK MeterProvider without readers: the span recorded, the instruments inert',
      ingest: 'an SDK MeterProvider without readers: the span recorded, the instruments inert',
      breakdown: true,
    },
    {
      suffix: ', no-op spans',
      config: { linkReplies: true, contextManager: false, recording: 'no-op spans' },
      send: 'the API’s no-op tracer: the bridge’s span work without the SDK’s, the instruments inert',
      ingest: 'the API’s no-op tracer: the bridge’s span work without the SDK’s, the instruments inert',
      breakdown: true,
    },
    {
      suffix: ', neither provider recording',
      config: { linkReplies: true, contextManager: false, recording: 'neither' },
      send: 'both providers inert: the bridge’s own work only',
      ingest: 'both providers inert: the bridge’s own work only',
      breakdown: true,
    },
  ];
  try {
    for (const setup of setups) {
      const init = (bridge: boolean): Extract<ToChild, { type: 'init' }> => ({
        type: 'init',
        config: { ...setup.config, bridge },
        apiHost: stub.url,
        applicationId,
        privateKey,
        signatureSecret,
      });
      const [on, off] = await Promise.all([forkChild(init(true)), forkChild(init(false))]);
      const placement = pinApart(
        [process.pid],
        [on.pid, off.pid],
        'the stub API pinned to CPU 0, both children to CPU 1',
      );
      try {
        const rows = [
          {
            kind: 'send',
            ops: SEND_SLICE,
            label: 'sendText',
            what: `${SEND_SLICE} sequential sends`,
            note: setup.send,
          },
          { kind: 'ingest', ops: INGEST_SLICE, label: 'receive', what: `${INGEST_SLICE} requests`, note: setup.ingest },
        ] as const;
        for (const row of rows) {
          const a = () => on.slice(row.kind, row.ops);
          const b = () => off.slice(row.kind, row.ops);
          ctx.log(`observability: ${row.kind}, OpenTelemetry on vs off${setup.suffix}`);
          await pairedSlices(warmUp, a, b);
          const sides = await pairedSlices(childPairs, a, b);
          pushRow(
            ctx,
            `${row.kind}: enableOpenTelemetry on${setup.suffix}`,
            `${row.label} (OpenTelemetry on)`,
            `${row.label} (off)`,
            sides,
            setup.breakdown ? undefined : 1.15,
            '≤ 15 %',
            `two processes, the bridge enabled once at start-up in one; ${placement.note}; ${warmUp} warm-up pairs, then ${childPairs} pairs of ${row.what}; ${row.note}`,
          );
        }
      } finally {
        placement.restore();
        await Promise.all([on.exit(), off.exit()]);
      }
    }
  } finally {
    await stub.close();
  }
}

function pushRow(
  ctx: SectionContext,
  name: string,
  subjectLabel: string,
  baselineLabel: string,
  sides: Sides,
  /** `undefined`: a row without a target (the breakdown by provider). */
  max: number | undefined,
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
      ...(max === undefined ? {} : { target: { kind: 'max', value: max, text } }),
      notes: [
        `${note}; ratio = median of per-pair CPU-time ratios (interquartile ${sides.p25.toFixed(3)}–${sides.p75.toFixed(3)}); wall-time median ratio ${sides.wallRatio.toFixed(3)}`,
      ],
    }),
  );
}
