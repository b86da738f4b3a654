/**
 * The standalone sandbox: one HTTP server in front of {@link createSandbox}. It serves the
 * chat page (`/`, `/playground.js`), its live feed (`/events`, server-sent events) and its
 * controls (`/api/*`), and passes every other request, unchanged, to the sandbox itself, so
 * that rules, auth and signed webhooks are exactly those of the tests.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { MESSENGER_POLICY } from '../policy.js';
import { createSandbox, type Sandbox, type SandboxFeedEntry, type SandboxOptions } from '../testing/sandbox.js';
import { pageHtml } from './page/html.js';

/** Options of {@link startPlayground}: the sandbox's, plus where to listen. */
export interface PlaygroundOptions extends Omit<SandboxOptions, 'port'> {
  port?: number;
  host?: string;
  /** The page's script; default dist/playground.js, next to the built CLI. */
  clientScript?: string;
  /** Pages and users offered in the page's pickers (any other may be typed). */
  offer?: { pages?: readonly string[]; users?: readonly string[] };
}

/** A running standalone sandbox. */
export interface Playground {
  /** The URL a bot uses as `VONAGE_API_HOST`; the chat page is at its `/`. */
  url: string;
  sandbox: Sandbox;
  close(): Promise<void>;
}

/** An event of the page's feed, as sent over SSE. */
export type FeedEvent =
  | { type: 'inbound'; uuid: string; page: string; psid: string; text: string; at: string }
  | { type: 'answered'; uuid: string; botStatus?: number; error?: string }
  | {
      type: 'outbound';
      uuid: string;
      page: string;
      psid: string;
      text: string;
      tag?: string;
      at: string;
      verdict: { delivered: true } | { delivered: false; code: number; detail: string };
    }
  | { type: 'refused'; at: string; httpStatus: number; title: string; detail: string; page?: string; psid?: string }
  | { type: 'status'; uuid: string; status: string; code?: string; detail?: string; botStatus?: number; error?: string }
  | { type: 'state' };

export const DEFAULT_PAGE = '102290129340398';
export const DEFAULT_USER = '25381719828140932';
const MAX_SAY_BYTES = 16 * 1024;
const HOUR = 3_600_000;
/** The clock buttons: names the page shows, in milliseconds. */
export const CLOCK_STEPS: Readonly<Record<string, number>> = { '1h': HOUR, '25h': 25 * HOUR, '8d': 8 * 24 * HOUR };

function describeOutbound(entry: SandboxFeedEntry): FeedEvent | undefined {
  if (entry.kind !== 'request' || entry.request.path !== '/v1/messages') return undefined;
  const { request } = entry;
  const at = request.at.toISOString();
  if (request.message && request.verdict && request.messageUuid) {
    const message = request.message;
    return {
      type: 'outbound',
      uuid: request.messageUuid,
      page: message.from,
      psid: message.to,
      text: message.text ?? `[${message.messageType}] ${message.url ?? ''}`.trim(),
      ...(message.tag !== undefined ? { tag: message.tag } : {}),
      at,
      verdict: request.verdict,
    };
  }
  const problem = (request.response ?? {}) as { title?: unknown; detail?: unknown };
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    unknown
  >;
  return {
    type: 'refused',
    at,
    httpStatus: request.status,
    title: String(problem.title ?? ''),
    detail: String(problem.detail ?? ''),
    ...(typeof body.from === 'string' ? { page: body.from } : {}),
    ...(typeof body.to === 'string' ? { psid: body.to } : {}),
  };
}

function describeStatus(entry: SandboxFeedEntry): FeedEvent | undefined {
  if (entry.kind !== 'webhook' || entry.webhook.kind !== 'status') return undefined;
  const { webhook } = entry;
  const error = webhook.body.error as
    | { title?: unknown; detail?: unknown; code?: unknown; reason?: unknown }
    | undefined;
  return {
    type: 'status',
    uuid: String(webhook.body.message_uuid),
    status: webhook.status ?? String(webhook.body.status),
    ...(error ? { code: String(error.title ?? error.code), detail: String(error.detail ?? error.reason) } : {}),
    ...(webhook.responseStatus !== undefined ? { botStatus: webhook.responseStatus } : {}),
    ...(webhook.error !== undefined ? { error: webhook.error } : {}),
  };
}

/** The client script, built next to the CLI by tsup (dist/playground.js). */
function loadClientScript(): string {
  try {
    return readFileSync(new URL('./playground.js', import.meta.url), 'utf8');
  } catch {
    throw new Error('playground.js is missing next to the CLI: run `npm run build` (tsup builds it)');
  }
}

/** A request body the page API refuses, with the HTTP status that says why. */
class BodyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
  }
}

function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    // application/json only: a cross-site form cannot send it without a preflight, which fails.
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      reject(new BodyError('content-type must be application/json'));
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_SAY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > MAX_SAY_BYTES) return reject(new BodyError('body too large', 413));
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
        resolve(value as Record<string, unknown>);
      } catch (error) {
        reject(new BodyError(error instanceof Error ? error.message : String(error)));
      }
    });
    request.on('error', reject);
  });
}

const ID = /^\d{1,32}$/;

/**
 * Whether a request's Host names this sandbox. DNS rebinding points an attacker's name at
 * 127.0.0.1, making its page same-origin with this one; its requests still carry that name.
 * An IP address cannot be rebound, so any is accepted (a sandbox on 0.0.0.0 is reached by one).
 */
function ownHost(header: string | undefined, listenHost: string): boolean {
  if (header === undefined || !URL.canParse(`http://${header}`)) return false;
  const name = new URL(`http://${header}`).hostname.toLowerCase();
  return isIP(name.replace(/^\[|\]$/g, '')) !== 0 || name === 'localhost' || name === listenHost.toLowerCase();
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}

/**
 * Starts the sandbox and the page in front of it.
 */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const { host = '127.0.0.1', port = 0, offer, clientScript, ...sandboxOptions } = options;
  const script = clientScript ?? loadClientScript();
  const knownPages = new Set(offer?.pages?.length ? offer.pages : [DEFAULT_PAGE]);
  const knownUsers = new Set(offer?.users?.length ? offer.users : [DEFAULT_USER]);
  const [firstPage = DEFAULT_PAGE] = knownPages;
  const [firstUser = DEFAULT_USER] = knownUsers;
  if (![...knownPages, ...knownUsers].every((id) => ID.test(id)))
    throw new Error('offer: Page and user IDs are digits');
  const html = pageHtml({ page: firstPage, psid: firstUser });
  // The platform's clock moves with the buttons; webhook tokens keep the wall clock, so a
  // bot on real time still accepts them after the clock moved.
  const sandbox = await createSandbox({ ...sandboxOptions, signingClock: () => new Date() });
  const unlinked = new Set<string>();
  const clients = new Set<ServerResponse>();
  let advancedMs = 0;
  const target = new URL(sandbox.url);

  const broadcast = (event: FeedEvent): void => {
    const frame = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const client of clients) client.write(frame);
  };
  const stopFeed = sandbox.subscribe((entry) => {
    const event = describeOutbound(entry) ?? describeStatus(entry);
    if (event) broadcast(event);
  });
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const state = (page: string, psid: string) => {
    const now = sandbox.now().getTime();
    const conversation = sandbox.conversation(page, psid);
    const humanAgentMs = MESSENGER_POLICY.tags.HUMAN_AGENT?.windowMs ?? 0;
    return {
      now,
      advancedMs,
      page,
      psid,
      linked: !unlinked.has(page),
      pages: [...knownPages],
      users: [...knownUsers],
      lastInboundAt: conversation?.lastInboundAt ?? null,
      // The platform's windows, without the client's safety margin (the sandbox closes at exactly 24 h).
      standardClosesAt: conversation ? conversation.lastInboundAt + MESSENGER_POLICY.standardWindowMs : null,
      humanAgentClosesAt: conversation ? conversation.lastInboundAt + humanAgentMs : null,
      webhookUrl: sandbox.webhookUrl ?? null,
      statusUrl: sandbox.statusUrl ?? null,
    };
  };

  async function api(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (request.method === 'GET' && path === '/api/state') {
      const page = url.searchParams.get('page') ?? firstPage;
      const psid = url.searchParams.get('psid') ?? firstUser;
      if (!ID.test(page) || !ID.test(psid)) return json(response, 400, { error: 'page and psid are digits' });
      return json(response, 200, state(page, psid));
    }
    if (request.method !== 'POST') return json(response, 405, { error: 'method not allowed' });
    let body: Record<string, unknown>;
    try {
      body = await readJson(request);
    } catch (error) {
      if (error instanceof BodyError) return json(response, error.status, { error: error.message });
      throw error;
    }
    const page = typeof body.page === 'string' ? body.page : '';
    const psid = typeof body.psid === 'string' ? body.psid : '';
    if (path === '/api/say') {
      const text = typeof body.text === 'string' ? body.text.trim() : '';
      if (!ID.test(page) || !ID.test(psid) || text === '' || text.length > 2000) {
        return json(response, 400, { error: 'page and psid are digits; text is 1 to 2000 characters' });
      }
      if (sandbox.webhookUrl === undefined) {
        return json(response, 409, { error: 'no webhook URL: start the sandbox with --webhook-url' });
      }
      knownPages.add(page);
      knownUsers.add(psid);
      const at = sandbox.now();
      const uuid = randomUUID();
      // Shown before the webhook goes out: the bot often replies before it answers it.
      broadcast({ type: 'inbound', uuid, page, psid, text, at: at.toISOString() });
      let botStatus: number | undefined;
      let error: string | undefined;
      try {
        botStatus = await sandbox.userSays({ page, psid, text, at, messageUuid: uuid });
      } catch (failure) {
        error = failure instanceof Error ? failure.message : String(failure);
      }
      broadcast({
        type: 'answered',
        uuid,
        ...(botStatus !== undefined ? { botStatus } : {}),
        ...(error !== undefined ? { error } : {}),
      });
      broadcast({ type: 'state' });
      return json(response, error === undefined ? 200 : 502, { uuid, botStatus, error });
    }
    if (path === '/api/advance') {
      // Own names only: "toString" or "constructor" would find Object.prototype's functions.
      const step =
        typeof body.by === 'string' && Object.hasOwn(CLOCK_STEPS, body.by) ? CLOCK_STEPS[body.by] : undefined;
      if (step === undefined)
        return json(response, 400, { error: `by is one of ${Object.keys(CLOCK_STEPS).join(', ')}` });
      const now = sandbox.advance(step);
      advancedMs += step;
      broadcast({ type: 'state' });
      return json(response, 200, { now: now.getTime() });
    }
    if (path === '/api/link' || path === '/api/unlink') {
      if (!ID.test(page)) return json(response, 400, { error: 'page is digits' });
      if (path === '/api/link') {
        sandbox.linkPage(page);
        unlinked.delete(page);
      } else {
        sandbox.unlinkPage(page);
        unlinked.add(page);
      }
      broadcast({ type: 'state' });
      return json(response, 200, { page, linked: !unlinked.has(page) });
    }
    return json(response, 404, { error: 'not found' });
  }

  function events(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write('retry: 1000\n\n');
    clients.add(response);
    request.on('close', () => clients.delete(response));
  }

  function proxy(request: IncomingMessage, response: ServerResponse): void {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) json(response, 502, { error: 'sandbox unavailable' });
      else response.destroy();
    });
    request.pipe(upstream);
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://playground.invalid');
    // HEAD answers as GET does; node sends no body for it.
    const read = request.method === 'GET' || request.method === 'HEAD';
    if (read && (url.pathname === '/' || url.pathname === '/index.html')) {
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
        'cache-control': 'no-store',
        'content-security-policy':
          "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
      });
      response.end(html);
      return;
    }
    if (read && url.pathname === '/playground.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      response.end(script);
      return;
    }
    // Browsers ask for it on their own: answered here, it is neither a 404 nor a line of the
    // sandbox's request log.
    if (read && url.pathname === '/favicon.ico') {
      response.writeHead(204, { 'cache-control': 'max-age=86400' });
      response.end();
      return;
    }
    const pageApi = url.pathname === '/events' || url.pathname.startsWith('/api/');
    if (pageApi && !ownHost(request.headers.host, host)) {
      return json(response, 403, { error: 'the Host header does not name this sandbox' });
    }
    if (request.method === 'GET' && url.pathname === '/events') return events(request, response);
    if (url.pathname.startsWith('/api/')) {
      api(request, response, url).catch((error: unknown) => {
        if (!response.headersSent) json(response, 500, { error: String(error) });
      });
      return;
    }
    proxy(request, response);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    stopFeed();
    clearInterval(heartbeat);
    await sandbox.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  // A wildcard is where to listen, not an address to call: the printed VONAGE_API_HOST must
  // work as it is, and createMessenger accepts plain http only on loopback.
  const callable = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  const shownHost = isIP(callable) === 6 ? `[${callable}]` : callable;
  let closed = false;
  return {
    url: `http://${shownHost}:${address.port}`,
    sandbox,
    async close() {
      if (closed) return;
      closed = true;
      stopFeed();
      clearInterval(heartbeat);
      for (const client of clients) client.end();
      clients.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await sandbox.close();
    },
  };
}
