/**
 * A stand-in for `POST /v1/messages` on 127.0.0.1 that counts TCP connections and requests,
 * records every request (headers and parsed body), and answers from a programmable queue.
 * Used to prove both what an allowed send puts on the wire and that a refused send opens no
 * socket at all.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  raw: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is (not JSON-encoded) when set. */
  text?: string;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering. */
  hangUp?: boolean;
}

export interface FakeApi {
  url: string;
  connections: number;
  requests: RecordedRequest[];
  /** Answers for the next requests, in order; after them, `fallback`. */
  replies: Reply[];
  fallback: Reply;
  close(): Promise<void>;
}

let counter = 0;
/** A 202 with a fresh message_uuid. */
export const accepted = (): Reply => ({
  status: 202,
  body: { message_uuid: `aaaaaaaa-bbbb-cccc-dddd-${String(++counter).padStart(12, '0')}` },
});

export async function startFakeApi(): Promise<FakeApi> {
  const api: FakeApi = {
    url: '',
    connections: 0,
    requests: [],
    replies: [],
    fallback: { status: 202 },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      api.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, raw });
      const reply =
        api.replies.shift() ?? (api.fallback.status === 202 && !api.fallback.body ? accepted() : api.fallback);
      if (reply.hangUp) {
        req.socket.destroy();
        return;
      }
      const text = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      res.writeHead(reply.status, {
        'content-type': reply.status >= 400 ? 'application/problem+json' : 'application/json',
        'content-length': Buffer.byteLength(text),
        ...reply.headers,
      });
      res.end(text);
    });
  });
  server.on('connection', () => {
    api.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}

/** A throwaway RSA key pair for JWT tests (never a real Vonage key). */
export function testKeys(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

/** Decodes a JWT's payload without verifying it. */
export function jwtPayload(authorization: string | undefined): Record<string, unknown> {
  const token = (authorization ?? '').replace(/^Bearer /, '');
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Real Vonage-shaped RFC 7807 bodies (Messages API spec and error docs). */
export const PROBLEMS = {
  400: {
    type: 'https://www.nexmo.com/messages/Errors#InvalidParams',
    title: "Your request parameters didn't validate.",
    detail: 'Your request parameters did not validate.',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
    invalid_parameters: [{ name: 'to', reason: 'Must be a valid Messenger ID' }],
  },
  401: {
    type: 'https://developer.nexmo.com/api-errors#unathorized',
    title: 'You did not provide correct credentials.',
    detail: 'Check that you are using the correct credentials, and that your account has this feature enabled',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  },
  402: {
    type: 'https://developer.nexmo.com/api-errors/#low-balance',
    title: 'Low balance',
    detail: 'This request could not be performed due to your account balance being low.',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  },
  403: {
    type: 'https://developer.vonage.com/api-errors#forbidden',
    title: 'Forbidden',
    detail: 'Your account does not have permission to perform this action.',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  },
  404: {
    type: 'https://developer.vonage.com/api-errors#not-found',
    title: 'Not Found',
    detail: 'The requested resource does not exist, or you do not have access to it.',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  },
  422: {
    type: 'https://developer.nexmo.com/api-errors/messages-olympus#1150',
    title: 'Invalid channel parameters',
    detail: 'The value of one or more parameters is invalid.',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
    invalid_parameters: [{ name: 'messenger.category', reason: 'Must be one of response, update or message_tag.' }],
  },
  429: {
    type: 'https://developer.nexmo.com/api-errors/messages-olympus#1010',
    title: 'Rate Limit Hit',
    detail: 'Please wait, then retry your request',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  },
  500: {
    type: 'https://developer.nexmo.com/api-errors/messages-olympus#1000',
    title: 'Internal Error',
    detail: 'An error has occurred in the platform whilst processing this message',
    instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
  },
} as const;
