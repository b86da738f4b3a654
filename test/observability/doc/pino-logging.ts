// The pino example of docs/observability.md, verbatim but for the import path and the last
// line (the test passes its own logger): if this breaks, fix the doc too.
import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { Logger } from 'pino';
import {
  MESSENGER_CHANNELS,
  type PlatformErrorEvent,
  type SendTrace,
  type StoreOperationEvent,
  type WebhookTrace,
} from '../../../src/index.js';

const skip = () => {};

export function logMessengerEvents(log: Logger): void {
  tracingChannel<unknown, SendTrace>(MESSENGER_CHANNELS.send).subscribe({
    start: skip,
    end: skip,
    asyncStart: skip,
    error: skip,
    asyncEnd: (s) =>
      log[s.outcome === 'sent' ? 'info' : 'warn'](
        {
          page: s.pageId,
          type: s.messageType,
          category: s.category,
          tag: s.tag,
          outcome: s.outcome,
          reason: s.reason,
          messageUuid: s.messageUuid,
        },
        'messenger send',
      ),
  });
  tracingChannel<unknown, WebhookTrace>(MESSENGER_CHANNELS.webhook).subscribe({
    start: skip,
    end: skip,
    asyncStart: skip,
    error: skip,
    asyncEnd: (w) =>
      log[(w.status ?? 500) >= 500 ? 'error' : w.status === 200 ? 'debug' : 'warn'](
        {
          status: w.status,
          kind: w.eventKind,
          type: w.eventType,
          verification: w.verificationFailure,
          redelivered: w.redelivered,
        },
        'messenger webhook',
      ),
  });
  channel(MESSENGER_CHANNELS.platformError).subscribe((message) => {
    const e = message as PlatformErrorEvent;
    log.warn({ code: e.code, kind: e.kind, action: e.action, page: e.pageId, messageUuid: e.messageUuid }, e.message);
  });
  channel(MESSENGER_CHANNELS.store).subscribe((message) => {
    const e = message as StoreOperationEvent;
    if (e.error !== undefined || e.durationMs > 50)
      log.warn({ operation: e.operation, ms: e.durationMs, err: e.error }, 'slow or failed store call');
  });
}
