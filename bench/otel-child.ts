/**
 * One side of the observability section's "OpenTelemetry on" rows, in a process of its own
 * (`node --import tsx`, forked with an IPC channel). The parent forks two: one enables the
 * bridge once at start-up and keeps it on, as an app does; the other never enables it. It then
 * asks each in turn for a slice and compares the CPU time each reports.
 *
 * Why two processes: the channels are process-wide, so one process can only compare "on"
 * with "off" by subscribing and unsubscribing around every slice. That toggling is not what
 * production does (V8 deoptimizes the publishing code at each flip), and what the "on"
 * slices leave behind (an enabled `AsyncLocalStorage`, the SDK's retained spans and metric
 * storage, compiled SDK code) slows the "off" slices that follow.
 *
 * Messages: `init` (answered `ready`), `slice` (answered with CPU and wall µs per operation),
 * `exit`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ProxyTracerProvider, type TracerProvider } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PAGE_ID, psidFor } from './lib/context.js';
import { silentProviders } from './lib/otel-sdk.js';
import { inboundTextBody, signRequest } from './lib/sign.js';
import { openWindow } from './lib/subject.js';
import { loadBuiltChannels } from './lib/variants.js';

export interface ChildConfig {
  /** `enableOpenTelemetry` once at start-up, or never. */
  bridge: boolean;
  linkReplies: boolean;
  /** An `AsyncLocalStorage` entered at start-up, as OpenTelemetry's context manager keeps one. */
  contextManager: boolean;
  /**
   * Which of the bridge's providers record: both (as an app has them), one, or neither (an
   * SDK `MeterProvider` without readers and the API's empty proxy `TracerProvider`, so that
   * only the bridge's own work is left). `'no-op spans'`: inert instruments, and spans from
   * the API's no-op tracer behind a provider the bridge cannot tell from an SDK's, so that the
   * bridge does all its span work and only the SDK's share is left out.
   */
  recording: 'both' | 'metrics' | 'traces' | 'neither' | 'no-op spans';
  /** The share of traces sampled (bench/lib/otel-sdk.ts); every one when omitted. */
  sampleRatio?: number;
}

export type ToChild =
  | {
      type: 'init';
      config: ChildConfig;
      apiHost: string;
      applicationId: string;
      privateKey: string;
      signatureSecret: string;
    }
  | { type: 'slice'; kind: 'send' | 'ingest'; ops: number }
  | { type: 'exit' };

export type FromChild = { type: 'ready' } | { type: 'sample'; cpu: number; wall: number };

const TEXT = 'Your order #1234 has shipped and will arrive on Thursday.';

const reply = (message: FromChild) => process.send?.(message);

/** A provider of the API's no-op tracer that is not the global proxy (which the bridge skips). */
const noopSpans = (): TracerProvider => {
  const tracer = new ProxyTracerProvider().getDelegate().getTracer('bench');
  return { getTracer: () => tracer };
};

/** Readies a slice of `ops` operations (signing requests, outside the clock) and returns it. */
let prepare: ((kind: 'send' | 'ingest', ops: number) => () => Promise<void>) | undefined;

async function init(message: Extract<ToChild, { type: 'init' }>): Promise<void> {
  const { config } = message;
  if (config.contextManager) new AsyncLocalStorage<object>().enterWith({});
  const variant = await loadBuiltChannels();
  if (config.bridge) {
    const { meterProvider, tracerProvider } = silentProviders(config.sampleRatio);
    const metrics = config.recording === 'both' || config.recording === 'metrics';
    const traces = config.recording === 'both' || config.recording === 'traces';
    variant.enableOpenTelemetry({
      meterProvider: metrics ? meterProvider : new MeterProvider(),
      tracerProvider:
        config.recording === 'no-op spans' ? noopSpans() : traces ? tracerProvider : new ProxyTracerProvider(),
      linkReplies: config.linkReplies,
    });
  }
  const messenger = variant.createMessenger({
    applicationId: message.applicationId,
    privateKey: message.privateKey,
    signatureSecret: message.signatureSecret,
    apiHost: message.apiHost,
    store: variant.memoryStore(),
  });
  const user = psidFor(1);
  await openWindow(messenger, user);
  prepare = (kind, ops) => {
    if (kind === 'send') {
      return async () => {
        for (let i = 0; i < ops; i++) await messenger.sendText({ from: PAGE_ID, to: user, text: TEXT });
      };
    }
    // Fresh for every slice: each message_uuid is delivered once.
    const requests = Array.from({ length: ops }, (_, i) =>
      signRequest(
        inboundTextBody(PAGE_ID, psidFor(i % 1000), randomUUID(), new Date()),
        message.signatureSecret,
        message.applicationId,
      ),
    );
    return async () => {
      for (const r of requests) await messenger.receive({ headers: r.headers, body: r.body });
    };
  };
}

/** CPU time (the whole process, as `process.cpuUsage` counts it) and wall time per operation. */
async function timed(ops: number, slice: () => Promise<void>): Promise<FromChild> {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  await slice();
  const used = process.cpuUsage(cpu);
  return { type: 'sample', cpu: (used.user + used.system) / ops, wall: ((performance.now() - wall) * 1000) / ops };
}

process.on('message', (message: ToChild) => {
  const handle = async () => {
    if (message.type === 'init') {
      await init(message);
      reply({ type: 'ready' });
    } else if (message.type === 'slice') {
      if (prepare === undefined) throw new Error('slice before init');
      reply(await timed(message.ops, prepare(message.kind, message.ops)));
    } else {
      process.exit(0);
    }
  };
  handle().catch((error: unknown) => {
    process.stderr.write(`otel-child: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
});
