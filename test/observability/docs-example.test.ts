import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { playConversation, startWorld, type World } from './conversation.js';
import { setUp } from './doc/otel-setup.js';
import { logMessengerEvents } from './doc/pino-logging.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  vi.restoreAllMocks();
});

describe('docs/observability.md examples', () => {
  it('the ten-line OpenTelemetry setup exports spans and metrics of a conversation', async () => {
    const printed: unknown[] = [];
    vi.spyOn(console, 'dir').mockImplementation((value) => {
      printed.push(value);
    });
    const { meterProvider, tracerProvider, disable } = setUp();
    try {
      world = await startWorld();
      await playConversation(world);
      await tracerProvider.forceFlush();
      await meterProvider.forceFlush();
    } finally {
      disable();
    }
    const text = JSON.stringify(printed);
    expect(text).toContain('"name":"messenger.send"');
    expect(text).toContain('"name":"messenger.webhook"');
    expect(text).toContain('messenger.sends');
    expect(text).toContain('messenger.store.duration');
  });

  it('the pino example logs sends, webhooks, the platform error and the store outage', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    logMessengerEvents(pino({ level: 'debug' }, sink));
    world = await startWorld();
    await playConversation(world);
    await new Promise((resolve) => setImmediate(resolve));

    const sends = lines.filter((l) => l.msg === 'messenger send').map((l) => [l.outcome, l.reason]);
    expect(sends).toEqual([
      ['sent', undefined],
      ['refused', 'window_closed'],
      ['refused', 'retired_tag'],
      ['sent', undefined],
      ['failed', 'store_error'],
    ]);
    expect(lines.filter((l) => l.msg === 'messenger webhook').map((l) => l.status)).toEqual([
      200, 200, 200, 200, 200, 401,
    ]);
    expect(lines.some((l) => l.code === '1340' && l.kind === 'window_closed')).toBe(true);
    expect(lines.filter((l) => l.msg === 'slow or failed store call').map((l) => l.operation)).toEqual(
      expect.arrayContaining(['get', 'getPage']),
    );
    // pino's level numbers: the refusals warn, the sends inform.
    expect(lines.find((l) => l.reason === 'window_closed')?.level).toBe(40);
  });
});
