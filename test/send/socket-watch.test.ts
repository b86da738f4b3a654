import { describe, expect, it } from 'vitest';
import { type WatchedSocket, watchSockets } from '../../src/send/socket-watch.js';

/** A clock, an interval driven by hand, and an agent whose pools the test fills. */
function harness(options: { timeoutMs?: number; idleMs?: number } = {}) {
  let t = 0;
  let tick: (() => void) | undefined;
  let period = 0;
  let intervals = 0;
  const agent = {
    freeSockets: {} as Record<string, WatchedSocket[]>,
    sockets: {} as Record<string, unknown[]>,
  };
  const watch = watchSockets({
    agent,
    timeoutMs: options.timeoutMs ?? 30_000,
    idleMs: options.idleMs ?? 4_000,
    onTimeout: () => new Error('no answer'),
    now: () => t,
    setInterval: (run, ms) => {
      tick = run;
      period = ms;
      intervals += 1;
      return intervals;
    },
    clearInterval: () => {
      tick = undefined;
    },
  });
  /** Moves the clock to `until`, running every tick on the way. */
  const advance = (until: number) => {
    while (tick !== undefined && t + period <= until) {
      t += period;
      tick();
    }
    t = Math.max(t, until);
  };
  const request = () => {
    const r = {
      error: undefined as Error | undefined,
      destroy(e: Error) {
        r.error = e;
      },
    };
    return r;
  };
  const socket = () => {
    const s = {
      bytesRead: 0,
      bytesWritten: 0,
      destroyed: false,
      destroy() {
        s.destroyed = true;
      },
    };
    return s;
  };
  return {
    watch,
    agent,
    advance,
    request,
    socket,
    now: () => t,
    running: () => tick !== undefined,
    period: () => period,
    intervals: () => intervals,
  };
}

describe('watchSockets', () => {
  it('destroys a request with no answer after timeoutMs, never before, at most a quarter later', () => {
    const h = harness({ timeoutMs: 30_000 });
    const late = h.request();
    const answered = h.request();
    h.watch.started(late);
    h.watch.started(answered);
    h.advance(29_999);
    expect(late.error).toBeUndefined();
    h.watch.settled(answered);
    h.advance(30_000 + 7_500);
    expect(late.error?.message).toBe('no answer');
    expect(answered.error).toBeUndefined();
  });

  it('closes a socket idle in the pool within the last quarter of idleMs, and not one in use', () => {
    const h = harness({ idleMs: 4_000 });
    const idle = h.socket();
    const busy = h.socket();
    h.agent.freeSockets['127.0.0.1:80:'] = [idle, busy];
    const r = h.request();
    h.watch.started(r);
    h.watch.settled(r);
    let closedAt: number | undefined;
    while (h.now() < 10_000) {
      h.advance(h.now() + h.period());
      busy.bytesWritten += 100; // used between every two ticks
      if (idle.destroyed && closedAt === undefined) closedAt = h.now();
    }
    expect(closedAt).toBeGreaterThanOrEqual(3_000);
    expect(closedAt).toBeLessThanOrEqual(4_000);
    expect(busy.destroyed).toBe(false);
  });

  it("closes idle sockets before the server's Keep-Alive timeout, less a second", () => {
    const h = harness({ idleMs: 4_000 });
    h.watch.keepAlive('timeout=2');
    const idle = h.socket();
    h.agent.freeSockets.a = [idle];
    h.watch.started(h.request());
    h.advance(1_000);
    expect(idle.destroyed).toBe(true);
  });

  it('runs only while a request is in flight or the agent has sockets', () => {
    const h = harness();
    expect(h.running()).toBe(false);
    const r = h.request();
    h.watch.started(r);
    expect(h.running()).toBe(true);
    h.agent.sockets.a = [{}];
    h.watch.settled(r);
    h.advance(h.now() + 5 * h.period());
    expect(h.running()).toBe(true);
    h.agent.sockets.a = [];
    h.advance(h.now() + h.period());
    expect(h.running()).toBe(false);
    h.watch.started(h.request());
    expect(h.running()).toBe(true);
    expect(h.intervals()).toBe(2);
    h.watch.close();
    expect(h.running()).toBe(false);
  });
});
