import { describe, expect, it, vi } from 'vitest';
import { StoreError, ValidationError, WebhookVerificationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { createWebhookLayer } from '../../src/webhooks/index.js';
import type { PlatformErrorEvent } from '../../src/webhooks/platform.js';
import {
  clock,
  inboundV0,
  inboundV1,
  PAGE,
  PSID,
  rejected,
  SECRET,
  setup,
  sign,
  statusV0,
  statusV1,
  T0,
} from './helpers.js';

const key = conversationKey(pageId(PAGE), psid(PSID));
const page = pageId(PAGE);

describe('receive: inbound messages', () => {
  it('records the window start at the message time and returns the event', async () => {
    const { layer, store } = setup();
    const result = await layer.receive(sign(inboundV1()));
    expect(result).toMatchObject({ duplicate: false, event: { kind: 'message', type: 'text' } });
    expect(await store.get(key)).toMatchObject({
      lastInboundAt: Date.parse('2026-03-01T11:59:30.000Z'),
      lastInboundUuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
    });
  });

  it('never starts the window later than receipt (a future timestamp is capped at now)', async () => {
    const { layer, store } = setup();
    await layer.receive(sign(inboundV1({ timestamp: '2026-03-01T13:00:00Z' })));
    expect((await store.get(key))?.lastInboundAt).toBe(T0);
  });

  it('reports a repeated message_uuid as a duplicate and changes nothing', async () => {
    const { layer, store } = setup();
    await layer.receive(sign(inboundV1()));
    const before = await store.get(key);
    const again = await layer.receive(sign(inboundV1({ timestamp: '2026-03-01T11:59:59Z' })));
    expect(again.duplicate).toBe(true);
    expect(await store.get(key)).toEqual(before);
  });

  it('records v0.1 messages the same way', async () => {
    const { layer, store } = setup();
    await layer.receive(sign(inboundV0()));
    expect(await store.get(key)).not.toBeNull();
  });

  it('records unsupported and unknown message types too (the user did write)', async () => {
    const { layer, store } = setup();
    await layer.receive(sign(inboundV1({ message_type: 'unsupported', message_uuid: 'u1' })));
    expect((await store.get(key))?.lastInboundUuid).toBe('u1');
  });

  it('marks an unlinked Page linked again: the message proves the link works', async () => {
    const { layer, store } = setup();
    await store.setPageLinked(page, false, T0 - 3_600_000, { errorCode: '1370' });
    await layer.receive(sign(inboundV1()));
    expect(await store.getPage(page)).toMatchObject({ linked: true });
  });

  it('marks a Page never seen linked, and does not write again once it is', async () => {
    const { layer, store, writes } = setup();
    await layer.receive(sign(inboundV1()));
    expect(await store.getPage(page)).toMatchObject({ linked: true });
    writes.length = 0;
    await layer.receive(sign(inboundV1({ message_uuid: 'second' })));
    expect(writes.some((w) => w.startsWith('setPageLinked'))).toBe(false);
  });

  it('does not let an old retried message undo a newer unlink', async () => {
    const { layer, store } = setup();
    await store.setPageLinked(page, false, T0 - 10_000, { errorCode: '1370' });
    await layer.receive(sign(inboundV1({ timestamp: '2026-03-01T11:00:00Z' })));
    expect(await store.getPage(page)).toMatchObject({ linked: false });
  });
});

describe('receive: status events', () => {
  async function withConversation() {
    const ctx = setup();
    await ctx.layer.receive(sign(inboundV1()));
    ctx.writes.length = 0;
    return ctx;
  }

  it('closes the conversation on 1340 (closed_by_platform)', async () => {
    const { layer, store } = await withConversation();
    const result = await layer.receive(sign(rejected('1340')));
    expect(await store.get(key)).toMatchObject({ closedReason: 'closed_by_platform' });
    expect(result.platformError).toMatchObject({ code: '1340', kind: 'window_closed', action: 'conversation_closed' });
  });

  it('closes on a v0.1 undeliverable { code: 1340 } too', async () => {
    const { layer, store } = await withConversation();
    await layer.receive(sign(statusV0({ status: 'undeliverable', error: { code: 1340, reason: 'window' } })));
    expect(await store.get(key)).toMatchObject({ closedReason: 'closed_by_platform' });
  });

  it.each(['1300', '1430'])('marks the conversation user_unavailable on %s', async (code) => {
    const { layer, store } = await withConversation();
    const result = await layer.receive(sign(rejected(code)));
    expect(await store.get(key)).toMatchObject({ closedReason: 'user_unavailable' });
    expect(result.platformError).toMatchObject({ kind: 'user_unavailable', action: 'user_unavailable' });
  });

  it('marks the Page unlinked on 1370, with the code and detail', async () => {
    const { layer, store } = setup();
    const result = await layer.receive(sign(rejected('1370', { timestamp: '2026-03-01T11:59:00Z' })));
    expect(await store.getPage(page)).toMatchObject({
      linked: false,
      errorCode: '1370',
      errorDetail: 'refused',
      changedAt: Date.parse('2026-03-01T11:59:00Z'),
    });
    expect(result.platformError?.message).toMatch(/Part 1.*Part 2/);
  });

  it('marks the Page unlinked on 1420 only when it worked before', async () => {
    const fresh = setup();
    const first = await fresh.layer.receive(sign(rejected('1420')));
    expect(await fresh.store.getPage(page)).toBeNull();
    expect(first.platformError).toMatchObject({ kind: 'page_unlinked', action: 'none' });

    const known = await withConversation(); // the inbound message marked the Page linked
    const second = await known.layer.receive(sign(rejected('1420')));
    expect(await known.store.getPage(page)).toMatchObject({ linked: false, errorCode: '1420' });
    expect(second.platformError).toMatchObject({ action: 'page_unlinked' });
  });

  it('changes no state on 1021 but reports the refused tag', async () => {
    const { layer, writes } = await withConversation();
    const result = await layer.receive(sign(rejected('1021')));
    expect(writes.filter((w) => !w.startsWith('claim'))).toEqual([]);
    expect(result.platformError).toMatchObject({ kind: 'invalid_tag', action: 'none' });
    expect(result.platformError?.message).toMatch(/HUMAN_AGENT/);
  });

  it.each([
    ['1380', 'media'],
    ['1000', 'throttled'],
    ['1331', 'transient'],
    ['1450', 'invalid_request'],
    ['9999', 'other'],
  ])('classifies %s as %s', async (code, kind) => {
    const { layer } = setup();
    expect((await layer.receive(sign(rejected(code)))).platformError?.kind).toBe(kind);
  });

  it('tells onPlatformError once per event, never for a duplicate', async () => {
    const seen: PlatformErrorEvent[] = [];
    const { layer } = setup({ onPlatformError: (e) => void seen.push(e) });
    await layer.receive(sign(rejected('1340')));
    const again = await layer.receive(sign(rejected('1340')));
    expect(again.duplicate).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: '1340', pageId: PAGE, psid: PSID, status: 'rejected' });
  });

  it('is not failed by a throwing or rejecting onPlatformError', async () => {
    const throwing = setup({
      onPlatformError: () => {
        throw new Error('listener bug');
      },
    });
    await expect(throwing.layer.receive(sign(rejected('1340')))).resolves.toBeDefined();
    const rejecting = setup({ onPlatformError: () => Promise.reject(new Error('async bug')) as never });
    await expect(rejecting.layer.receive(sign(rejected('1340')))).resolves.toBeDefined();
  });

  it('deduplicates on message_uuid + status', async () => {
    const { layer } = setup();
    expect((await layer.receive(sign(statusV1({ status: 'delivered' })))).duplicate).toBe(false);
    expect((await layer.receive(sign(statusV1({ status: 'delivered' })))).duplicate).toBe(true);
    expect((await layer.receive(sign(statusV1({ status: 'read' })))).duplicate).toBe(false);
  });

  it('applies the state change before the dedupe claim, so a retry after a failure is not lost', async () => {
    const listener = vi.fn();
    const ctx = setup({ onPlatformError: listener });
    await ctx.layer.receive(sign(inboundV1()));
    ctx.fail('claim', `{${PAGE}}:status:`);
    await expect(ctx.layer.receive(sign(rejected('1340')))).rejects.toBeInstanceOf(StoreError);
    expect(listener).not.toHaveBeenCalled();
    ctx.fail(undefined);
    const retry = await ctx.layer.receive(sign(rejected('1340')));
    expect(retry.duplicate).toBe(false);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(await ctx.store.get(key)).toMatchObject({ closedReason: 'closed_by_platform' });
  });

  it('writes nothing but the token claim for delivered/read statuses', async () => {
    const { layer, writes } = setup();
    await layer.receive(sign(statusV1({ status: 'read' })));
    expect(writes.map((w) => w.slice(0, w.indexOf('(')))).toEqual(['claim', 'claim']);
  });

  it('passes a Dispatch completion event through without state changes', async () => {
    const { layer, writes } = setup();
    const result = await layer.receive(sign({ dispatch_uuid: 'd1', status: 'completed', template: 'failover' }));
    expect(result.event.kind).toBe('dispatch');
    expect(writes).toHaveLength(1); // the jti
  });
});

describe('receive: refusals change nothing', () => {
  it('refuses a webhook for an undeclared Page (unknown_page), inbound or status', async () => {
    const { layer, writes } = setup({ pages: new Set(['999']) });
    for (const body of [inboundV1(), rejected('1370')]) {
      await expect(layer.receive(sign(body))).rejects.toMatchObject({ reason: 'unknown_page' });
    }
    expect(writes).toEqual([]);
  });

  it('accepts a declared Page', async () => {
    const { layer } = setup({ pages: new Set([PAGE]) });
    await expect(layer.receive(sign(inboundV1()))).resolves.toMatchObject({ duplicate: false });
  });

  it('refuses to receive anything without a signature secret, saying so', async () => {
    const { writes, store } = setup();
    const layer = createWebhookLayer({ store, now: () => clock.now });
    const error = await layer.receive(sign(inboundV1())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/signatureSecret is required/);
    expect(writes).toEqual([]);
  });

  it('refuses a parsed object as body: the hash covers the raw bytes', async () => {
    const { layer } = setup();
    const signed = sign(inboundV1());
    await expect(layer.receive({ headers: signed.headers, body: inboundV1() as never })).rejects.toThrow(/raw/);
  });

  it('refuses a body over maxBodyBytes', async () => {
    const { layer, writes } = setup({ maxBodyBytes: 100 });
    await expect(layer.receive(sign(inboundV1({ text: 'x'.repeat(200) })))).rejects.toThrow(/maxBodyBytes/);
    expect(writes).toEqual([]);
  });

  it('refuses a replayed token after the first one was processed', async () => {
    const { layer } = setup();
    const signed = sign(inboundV1());
    await layer.receive(signed);
    await expect(layer.receive(signed)).rejects.toMatchObject({ reason: 'replayed_token' });
  });

  it('refuses a replay at the last instant its token is fresh, also on a process whose clock runs behind', async () => {
    const { layer, store } = setup();
    // Dated at the future edge, so first used at the earliest instant it is fresh.
    const signed = sign(inboundV1(), { issuedAt: T0 + 300_000 });
    await layer.receive(signed);
    clock.now = T0 + 600_000; // iat + tolerance: still fresh
    await expect(layer.receive(signed)).rejects.toMatchObject({ reason: 'replayed_token' });
    // Another process on the same store, its clock 59 s behind: the token is fresh there longer.
    let behind = T0 + 600_000;
    const other = createWebhookLayer({ store, signatureSecret: SECRET, now: () => behind });
    clock.now = T0 + 659_000;
    behind = T0 + 600_000;
    await expect(other.receive(signed)).rejects.toMatchObject({ reason: 'replayed_token' });
  });

  it('surfaces a store failure as StoreError', async () => {
    const { layer, fail } = setup();
    fail('recordInbound');
    await expect(layer.receive(sign(inboundV1()))).rejects.toBeInstanceOf(StoreError);
  });

  it('verifies with the messenger clock (tests can move it)', async () => {
    const { layer } = setup();
    const signed = sign(inboundV1());
    clock.now = T0 + 301_000;
    await expect(layer.receive(signed)).rejects.toBeInstanceOf(WebhookVerificationError);
  });

  it('checks api_key and application_id when configured', async () => {
    const { layer } = setup({ apiKey: 'key-1', applicationId: 'app-1' });
    await expect(layer.receive(sign(inboundV1(), { apiKey: 'key-2', applicationId: 'app-1' }))).rejects.toMatchObject({
      reason: 'wrong_api_key',
    });
    await expect(layer.receive(sign(inboundV1(), { apiKey: 'key-1', applicationId: 'app-2' }))).rejects.toMatchObject({
      reason: 'wrong_application',
    });
    await expect(layer.receive(sign(inboundV1(), { apiKey: 'key-1', applicationId: 'app-1' }))).resolves.toBeDefined();
  });

  it('accepts secrets in rotation', async () => {
    const { store } = setup();
    const layer = createWebhookLayer({ store, signatureSecret: ['new', SECRET], now: () => clock.now });
    await expect(layer.receive(sign(inboundV1()))).resolves.toBeDefined();
    await expect(layer.receive(sign(inboundV1({ message_uuid: 'n' }), {}, 'new'))).resolves.toBeDefined();
  });

  it('does not call the platform listener for a refused request', async () => {
    const listener = vi.fn();
    const { layer } = setup({ onPlatformError: listener, pages: new Set(['1']) });
    await layer.receive(sign(rejected('1340'))).catch(() => {});
    expect(listener).not.toHaveBeenCalled();
  });
});
