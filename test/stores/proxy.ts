/**
 * A tiny TCP proxy the fault tests control: it forwards to a real service until cut, so a test
 * can make Redis or PostgreSQL unreachable mid-run without touching the shared server.
 */
import net from 'node:net';

/** `reset`: connections are refused with RST; `hang`: accepted and never answered. */
export type Fault = 'reset' | 'hang';

export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and fails new ones the way `fault` says. */
  cut(fault: Fault): void;
  /** Forwards new connections again. */
  restore(): void;
  /**
   * Lets the next request reach the server, then drops the server's reply and the connection:
   * what a client sees when the network fails after the server did the work.
   */
  loseNextReply(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  let fault: Fault | undefined;
  let loseReply = false;

  const server = net.createServer((client) => {
    track(client);
    if (fault === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (fault === 'hang') return; // held open, never forwarded: only timeouts end it
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!loseReply) {
        client.write(chunk);
        return;
      }
      loseReply = false;
      client.destroy();
      upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  return {
    port: address.port,
    cut(next) {
      fault = next;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      fault = undefined;
    },
    loseNextReply() {
      loseReply = true;
    },
    close() {
      fault = 'reset';
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Retries `probe` until it resolves (bounded): how a test waits for a store to recover. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
