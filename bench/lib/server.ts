/**
 * A stand-in for the Vonage Messages API on 127.0.0.1: answers every `POST /v1/messages`
 * with 202 and a fresh `message_uuid`, and counts what it saw, so a benchmark can both time
 * sends and prove that blocked ones never reached the network.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubApi {
  /** `http://127.0.0.1:<port>`: pass as `apiHost`. */
  readonly url: string;
  /** Requests to `POST /v1/messages` since start or the last `reset()`. */
  readonly requests: number;
  /** The `authorization` header of the last `POST /v1/messages` (a baseline can replay it). */
  readonly lastAuthorization: string | undefined;
  reset(): void;
  close(): Promise<void>;
}

export async function startStubApi(): Promise<StubApi> {
  let requests = 0;
  let lastAuthorization: string | undefined;
  const server: Server = createServer((req, res) => {
    // Drain the body: the client's keep-alive socket is reusable only once it is read.
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/messages') {
        requests++;
        lastAuthorization = req.headers.authorization;
        const body = JSON.stringify({ message_uuid: randomUUID() });
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.writeHead(404, { 'content-length': 0 });
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get lastAuthorization() {
      return lastAuthorization;
    },
    reset() {
      requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
