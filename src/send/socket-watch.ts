/**
 * The `node:http` transport's timeouts, hand-tuned: one unref'd interval per transport
 * instead of a timer per request. Node's own means (a request `timeout`, an agent `timeout`)
 * re-arm a socket timer at least twice per request, and each re-arm builds and drops a timer
 * list when no other timer shares its duration: counted with callgrind, about 115 000 CPU
 * instructions per send, a sixth of what the client side of a keep-alive POST costs
 * (docs/performance-log.md, "Performance pass"). Here a request costs a clock read, a
 * `Map.set` and a `Map.delete`.
 *
 * Two duties, both checked on each tick:
 * - a request with no answer `timeoutMs` after it started is destroyed with the error
 *   `onTimeout` gives (never earlier than `timeoutMs`, at most a quarter of it later);
 * - a kept-alive socket idle in the agent's pool is closed within its last quarter of
 *   `idleMs`, or of the server's `Keep-Alive: timeout=N` minus one second (Node's agent
 *   rule), so that a request is unlikely to meet a socket the server already dropped.
 * The interval runs only while the agent has sockets or a request is in flight.
 *
 * @module
 */

/** What the watch reads of an `http.Agent`: its idle sockets and its busy ones. */
export interface WatchedAgent {
  readonly freeSockets: Readonly<Record<string, readonly WatchedSocket[] | undefined>>;
  readonly sockets: Readonly<Record<string, readonly unknown[] | undefined>>;
}

/** What the watch reads of a socket: its byte counters change whenever it is used. */
export interface WatchedSocket {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  destroy(): void;
}

/** A request the watch can abort. */
export interface WatchedRequest {
  destroy(error: Error): void;
}

/** Options of {@link watchSockets}. */
export interface SocketWatchOptions {
  agent: WatchedAgent;
  /** A request with no answer after this long is destroyed. */
  timeoutMs: number;
  /** An idle kept-alive socket is closed before this long. */
  idleMs: number;
  /** The error a timed-out request is destroyed with. */
  onTimeout: () => Error;
  /** Injected for tests. Default `performance.now`. */
  now?: () => number;
  /** Injected for tests. Default the global `setInterval`/`clearInterval` (the interval is unref'd). */
  setInterval?: (tick: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
}

/** The watch of one transport. */
export interface SocketWatch {
  /** A request was put on the wire. */
  started(request: WatchedRequest): void;
  /** It got its answer or failed: its deadline no longer applies. */
  settled(request: WatchedRequest): void;
  /** The `Keep-Alive` header of an answer, if any: a shorter server timeout shortens `idleMs`. */
  keepAlive(header: string | undefined): void;
  /** Stops the interval. */
  close(): void;
}

/** Node's agent closes a socket this long before the server's announced timeout. */
const KEEP_ALIVE_BUFFER_MS = 1000;

/**
 * One interval that enforces every request's deadline and closes idle sockets.
 */
export function watchSockets(options: SocketWatchOptions): SocketWatch {
  const { agent, timeoutMs, onTimeout } = options;
  const now = options.now ?? (() => performance.now());
  const schedule =
    options.setInterval ??
    ((tick: () => void, ms: number) => {
      const handle = setInterval(tick, ms);
      (handle as { unref?: () => void }).unref?.();
      return handle;
    });
  const cancel =
    options.clearInterval ?? ((handle: unknown) => clearInterval(handle as ReturnType<typeof setInterval>));
  // Often enough that a deadline is overshot by at most a quarter of it, and that an idle
  // socket is closed within the last quarter of its idle time.
  const period = Math.max(1, Math.floor(Math.min(timeoutMs / 4, options.idleMs / 8, 1000)));
  let idleMs = options.idleMs;
  let lastHint: string | undefined;
  /** In-flight requests and when they started. */
  const inFlight = new Map<WatchedRequest, number>();
  /** Idle sockets: their byte count when last seen, and since when it has not moved. */
  const idle = new WeakMap<WatchedSocket, { bytes: number; since: number }>();
  let handle: unknown;

  const hasSockets = (pools: Readonly<Record<string, readonly unknown[] | undefined>>): boolean => {
    for (const name in pools) if ((pools[name]?.length ?? 0) > 0) return true;
    return false;
  };

  const tick = () => {
    const t = now();
    for (const [request, startedAt] of inFlight) {
      if (t - startedAt >= timeoutMs) {
        inFlight.delete(request);
        request.destroy(onTimeout());
      }
    }
    const free = agent.freeSockets;
    for (const name in free) {
      for (const socket of free[name] ?? []) {
        const bytes = socket.bytesRead + socket.bytesWritten;
        const seen = idle.get(socket);
        if (seen === undefined || seen.bytes !== bytes) idle.set(socket, { bytes, since: t });
        // It went idle up to a period before `since`, and the next tick is a period away: close
        // it now if waiting for that tick could pass idleMs.
        else if (t - seen.since + 2 * period > idleMs) socket.destroy();
      }
    }
    if (inFlight.size === 0 && !hasSockets(free) && !hasSockets(agent.sockets)) {
      cancel(handle);
      handle = undefined;
    }
  };

  return {
    started(request) {
      inFlight.set(request, now());
      handle ??= schedule(tick, period);
    },
    settled(request) {
      inFlight.delete(request);
    },
    keepAlive(header) {
      if (header === undefined || header === lastHint) return;
      lastHint = header;
      const seconds = /^timeout=(\d+)/.exec(header)?.[1];
      if (seconds !== undefined) idleMs = Math.min(idleMs, Number(seconds) * 1000 - KEEP_ALIVE_BUFFER_MS);
    },
    close() {
      if (handle !== undefined) cancel(handle);
      handle = undefined;
      inFlight.clear();
    },
  };
}
