// What the Bun and Deno scripts (consumer.mjs, stores.mjs) share: the runtime's name, a check
// that fails naming it, and the runtime's own HTTP server.

export const runtime = globalThis.Bun ? `bun ${Bun.version}` : globalThis.Deno ? `deno ${Deno.version.deno}` : 'node';

export function check(condition, message) {
  if (!condition) throw new Error(`${runtime}: ${message}`);
}

/** Serves a Fetch handler on 127.0.0.1 with the runtime's own server (Bun.serve / Deno.serve). */
export function serve(handler) {
  if (globalThis.Bun) {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler });
    return { url: `http://127.0.0.1:${server.port}`, close: () => server.stop(true) };
  }
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}
