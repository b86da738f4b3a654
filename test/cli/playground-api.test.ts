// The chat page's endpoints, in process (the page itself is tested in Chromium in
// playground.test.ts): what they refuse, and that everything else reaches the sandbox.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Playground, startPlayground } from '../../src/cli/playground.js';
import { createMessenger } from '../../src/index.js';
import { type Receiver, startReceiver } from '../testing/receiver.js';

let playground: Playground | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await playground?.close();
  await receiver?.close();
  playground = undefined;
  receiver = undefined;
});

const post = (path: string, body: unknown, contentType = 'application/json') =>
  fetch(`${playground?.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('the playground endpoints', () => {
  it('refuses bad input with 4xx and changes nothing', async () => {
    receiver = await startReceiver();
    playground = await startPlayground({
      signatureSecret: 's',
      clientScript: '/* test */',
      webhookUrl: `${receiver.url}/in`,
    });
    const refused = [
      await post('/api/say', 'page=1&psid=2&text=x', 'application/x-www-form-urlencoded'),
      await post('/api/say', '{not json'),
      await post('/api/say', [1, 2]),
      await post('/api/say', { page: 'abc', psid: '2', text: 'x' }),
      await post('/api/say', { page: '1', psid: '2', text: '   ' }),
      await post('/api/say', { page: '1', psid: '2', text: 'x'.repeat(2001) }),
      await post('/api/advance', { by: '1y' }),
      await post('/api/unlink', { page: '1; drop' }),
      await fetch(`${playground.url}/api/state?page=x&psid=1`),
    ].map((response) => response.status);
    expect(refused).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400]);
    expect(receiver.received).toHaveLength(0);
    const state = (await (await fetch(`${playground.url}/api/state?page=1&psid=2`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ linked: true, advancedMs: 0, lastInboundAt: null });
  });

  it('answers 400, not 500, to a clock step named like an Object.prototype member, and leaves the clock', async () => {
    playground = await startPlayground({ signatureSecret: 's', clientScript: '' });
    const names = ['toString', 'constructor', '__proto__', 'hasOwnProperty'];
    const statuses = await Promise.all(names.map(async (by) => (await post('/api/advance', { by })).status));
    expect(statuses).toEqual([400, 400, 400, 400]);
    const state = (await (await fetch(`${playground.url}/api/state`)).json()) as { advancedMs: number };
    expect(state.advancedMs).toBe(0);
  });

  it('answers 413 to a body over the limit, and sends nothing', async () => {
    receiver = await startReceiver();
    playground = await startPlayground({ signatureSecret: 's', clientScript: '', webhookUrl: `${receiver.url}/in` });
    for (const size of [20_000, 2_000_000]) {
      const response = await post('/api/say', { page: '1', psid: '2', text: 'x'.repeat(size) });
      expect({ size, status: response.status }).toEqual({ size, status: 413 });
      expect(await response.json()).toEqual({ error: 'body too large' });
    }
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses (403) page-API requests whose Host is another name, as a DNS-rebinding page sends them', async () => {
    playground = await startPlayground({ signatureSecret: 's', clientScript: '' });
    const { port } = new URL(playground.url);
    const ask = (path: string, host: string, method = 'POST') =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ by: '8d' });
        const request = httpRequest(
          { host: '127.0.0.1', port, path, method, headers: { host, 'content-type': 'application/json' } },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        request.end(method === 'POST' ? body : undefined);
      });
    const foreign = ['attacker.example', `attacker.example:${port}`, `127.0.0.1.attacker.example:${port}`];
    for (const host of foreign) {
      expect({ host, status: await ask('/api/advance', host) }).toEqual({ host, status: 403 });
      expect({ host, status: await ask('/api/state', host, 'GET') }).toEqual({ host, status: 403 });
      expect({ host, status: await ask('/events', host, 'GET') }).toEqual({ host, status: 403 });
    }
    expect(playground.sandbox.now().getTime()).toBeLessThan(Date.now() + 3_600_000);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      expect({ host, status: await ask('/api/state', host, 'GET') }).toEqual({ host, status: 200 });
    }
  });

  it('answers HEAD / like GET / without a body, and /favicon.ico without a 404 or a request-log line', async () => {
    playground = await startPlayground({ signatureSecret: 's', clientScript: '' });
    const get = await fetch(`${playground.url}/`);
    const html = await get.text();
    const head = await fetch(`${playground.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(html)));
    expect(await head.text()).toBe('');
    const icon = await fetch(`${playground.url}/favicon.ico`);
    expect(icon.status).toBe(204);
    expect(playground.sandbox.requests.map((request) => request.path)).not.toContain('/favicon.ico');
  });

  it('reports the first offered Page when /api/state names none', async () => {
    playground = await startPlayground({ signatureSecret: 's', clientScript: '', offer: { pages: ['111', '222'] } });
    const state = (await (await fetch(`${playground.url}/api/state`)).json()) as { page: string; pages: string[] };
    expect(state).toMatchObject({ page: '111', pages: ['111', '222'] });
  });

  it.each([
    ['0.0.0.0', 'http://127.0.0.1:'],
    ['::', 'http://[::1]:'],
  ])(
    'listening on the wildcard %s, gives a loopback URL that createMessenger accepts and that answers',
    async (host, prefix) => {
      playground = await startPlayground({ signatureSecret: 's', clientScript: '', host });
      expect(playground.url.startsWith(prefix)).toBe(true);
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
      const messenger = createMessenger({ applicationId: randomUUID(), privateKey: pem, apiHost: playground.url });
      await messenger.close();
      expect((await fetch(`${playground.url}/api/state`)).status).toBe(200);
    },
  );

  it('says 409 when no webhook URL is set, and passes other paths to the sandbox', async () => {
    playground = await startPlayground({ signatureSecret: 's', clientScript: '' });
    expect((await post('/api/say', { page: '1', psid: '2', text: 'hi' })).status).toBe(409);
    const api = await fetch(`${playground.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toBe('application/problem+json');
    expect(playground.sandbox.requests.at(-1)).toMatchObject({ path: '/v1/messages', status: 401 });
  });

  it('records the user, moves the clock and the link, and reports them in /api/state', async () => {
    receiver = await startReceiver();
    playground = await startPlayground({ signatureSecret: 's', clientScript: '', webhookUrl: `${receiver.url}/in` });
    const said = (await (await post('/api/say', { page: '1', psid: '2', text: 'hi' })).json()) as { botStatus: number };
    expect(said.botStatus).toBe(200);
    expect(receiver.received[0]?.json).toMatchObject({ text: 'hi', from: '2', to: '1' });
    await post('/api/advance', { by: '25h' });
    await post('/api/unlink', { page: '1' });
    const state = (await (await fetch(`${playground.url}/api/state?page=1&psid=2`)).json()) as {
      now: number;
      standardClosesAt: number;
      humanAgentClosesAt: number;
      linked: boolean;
      advancedMs: number;
    };
    expect(state.linked).toBe(false);
    expect(state.advancedMs).toBe(25 * 3_600_000);
    expect(state.now).toBeGreaterThan(state.standardClosesAt);
    expect(state.now).toBeLessThan(state.humanAgentClosesAt);
    await post('/api/link', { page: '1' });
    expect(
      ((await (await fetch(`${playground.url}/api/state?page=1&psid=2`)).json()) as { linked: boolean }).linked,
    ).toBe(true);
  });
});
