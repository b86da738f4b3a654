#!/usr/bin/env node
// Checks the diagnostics channels on another runtime, from the built dist/ (npm run build):
//   node scripts/runtime-channels.mjs | bun scripts/runtime-channels.mjs | deno run -A scripts/runtime-channels.mjs
// It subscribes to the send, webhook and store channels, makes a refused send and receives a
// signed webhook with a memory store (no network), and exits 1 if an event is missing.
import { channel, tracingChannel } from 'node:diagnostics_channel';

const root = await import(new URL('../dist/index.js', import.meta.url).href);
const testing = await import(new URL('../dist/testing.js', import.meta.url).href);
const { generateKeyPairSync, randomUUID } = await import('node:crypto');
const seen = [];
const skip = () => {};
tracingChannel(root.MESSENGER_CHANNELS.send).subscribe({
  start: skip,
  end: skip,
  asyncStart: skip,
  error: skip,
  asyncEnd: (s) => seen.push(['send', s.outcome, s.reason]),
});
tracingChannel(root.MESSENGER_CHANNELS.webhook).subscribe({
  start: skip,
  end: skip,
  asyncStart: skip,
  error: skip,
  asyncEnd: (w) => seen.push(['webhook', w.status, w.eventKind]),
});
channel(root.MESSENGER_CHANNELS.store).subscribe((e) => seen.push(['store', e.operation]));
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const applicationId = randomUUID();
const m = root.createMessenger({
  applicationId,
  privateKey,
  signatureSecret: 'rt-secret',
  apiHost: 'http://127.0.0.1:9',
});
await m.sendText({ from: '107329271234567', to: '7000000000000001', text: 'hi' }).catch(() => {});
const signed = testing.signWebhook(
  testing.inboundText({ pageId: '107329271234567', psid: '7000000000000001' }),
  'rt-secret',
  { applicationId },
);
await m.receive(signed);
await m.close();
const kinds = new Set(seen.map((e) => e.join(':')));
console.log(JSON.stringify([...kinds]));
if (
  !kinds.has('send:refused:no_conversation') ||
  !kinds.has('webhook:200:message') ||
  !kinds.has('store:recordInbound')
) {
  console.error('MISSING');
  process.exit(1);
}
console.log('ok');
