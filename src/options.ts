/**
 * The options of `createMessenger`: the schema (zod), the bounds every store can honour, and
 * private key loading. Everything here runs once, at creation; a refusal is a
 * `ValidationError` that names the option.
 *
 * @module
 */
import * as z from 'zod';
import { ValidationError } from './errors.js';
import { PageIdSchema } from './ids.js';
import { isDate } from './is-date.js';
import { lazySchema } from './lazy-schema.js';
import type { MessengerOptions } from './messenger.js';
import type { MessengerPolicy } from './policy.js';
import { toIssues } from './send/schemas.js';

export { loadPrivateKey } from './send/auth.js';

import type { SessionStore } from './store/types.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return [
    'get',
    'recordInbound',
    'recordOutbound',
    'markClosed',
    'getPage',
    'setPageLinked',
    'claim',
    'lease',
    'settle',
    'delete',
    'close',
  ].every((name) => typeof s[name] === 'function');
}

const positiveInt = (label: string) =>
  z
    .number({ error: `${label} must be a number` })
    .int(`${label} must be an integer`)
    .min(0, `${label} must not be negative`);

// Longest delay a Node timer honours (2^31 - 1 ms, about 24.8 days); a longer one fires at once.
const MAX_TIMER_MS = 2_147_483_647;
const timerMs = (label: string) =>
  positiveInt(label).max(MAX_TIMER_MS, `${label} must be at most ${MAX_TIMER_MS} (a Node timer's limit)`);

const OptionsSchema = lazySchema(() =>
  z
    .strictObject({
      applicationId: z.string().min(1, 'applicationId must not be empty').optional(),
      privateKey: z
        .union([z.string(), z.instanceof(Uint8Array)], {
          error: 'privateKey must be PEM text, a Buffer or a file path',
        })
        .optional(),
      apiKey: z.string().min(1, 'apiKey must not be empty').optional(),
      apiSecret: z.string().min(1, 'apiSecret must not be empty').optional(),
      signatureSecret: z
        .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
          error: 'signatureSecret must be a non-empty string or a non-empty list of them',
        })
        .optional(),
      store: z
        .custom<SessionStore>(
          isStore,
          'store must implement SessionStore (get, recordInbound, …, lease, settle, close; lease and settle are new in 0.2, see docs/stores.md)',
        )
        .optional(),
      apiHost: z
        .string()
        .refine((value) => {
          if (!URL.canParse(value)) return false;
          const url = new URL(value);
          return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
        }, 'apiHost must be an https URL (http is accepted only for localhost / 127.0.0.1)')
        .optional(),
      pages: z
        .array(PageIdSchema)
        .min(1, 'pages must list at least one Page ID (leave it out to allow any Page)')
        .optional(),
      policy: z
        .custom<MessengerPolicy>(
          (v) => typeof v === 'object' && v !== null && typeof (v as MessengerPolicy).tags === 'object',
          'policy must be a MessengerPolicy (see definePolicy)',
        )
        .optional(),
      safetyMarginMs: positiveInt('safetyMarginMs').optional(),
      now: z.custom<() => Date>((v) => typeof v === 'function', 'now must be a function returning a Date').optional(),
      retry: z
        .union(
          [
            z.literal(false),
            z.strictObject({
              retries: positiveInt('retry.retries').max(10, 'retry.retries must be at most 10').optional(),
              baseDelayMs: timerMs('retry.baseDelayMs').optional(),
              maxDelayMs: timerMs('retry.maxDelayMs').optional(),
            }),
          ],
          { error: 'retry must be false or { retries, baseDelayMs, maxDelayMs }' },
        )
        .optional(),
      rateLimit: z
        .union(
          [
            z.boolean(),
            z.strictObject({
              perSecond: z
                .number({ error: 'rateLimit.perSecond must be a finite number' })
                .positive('rateLimit.perSecond must be positive')
                .max(100_000, 'rateLimit.perSecond must be at most 100000')
                .optional(),
              mediaPerSecond: z
                .number({ error: 'rateLimit.mediaPerSecond must be a finite number' })
                .positive('rateLimit.mediaPerSecond must be positive')
                .max(100_000, 'rateLimit.mediaPerSecond must be at most 100000')
                .optional(),
              burst: z
                .number()
                .int('rateLimit.burst must be an integer')
                .min(1, 'rateLimit.burst must be at least 1')
                .max(1_000_000, 'rateLimit.burst must be at most 1000000')
                .optional(),
              maxWaitMs: timerMs('rateLimit.maxWaitMs').optional(),
            }),
          ],
          { error: 'rateLimit must be true, false or { perSecond, mediaPerSecond, burst, maxWaitMs }' },
        )
        .optional(),
      timeoutMs: timerMs('timeoutMs').min(1, 'timeoutMs must be positive').optional(),
      learnTagRefusals: z.boolean({ error: 'learnTagRefusals must be a boolean' }).optional(),
      transport: z
        .enum(['http', 'fetch', 'vonage-sdk'], { error: "transport must be 'http', 'fetch' or 'vonage-sdk'" })
        .optional(),
      webhook: z
        .strictObject({
          toleranceSeconds: z
            .number()
            .positive('webhook.toleranceSeconds must be positive')
            .max(86_400, 'webhook.toleranceSeconds must be at most 86400 (a day)')
            .optional(),
          maxBodyBytes: z.number().int().positive('webhook.maxBodyBytes must be positive').optional(),
          deliveryLeaseMs: timerMs('webhook.deliveryLeaseMs')
            .min(1000, 'webhook.deliveryLeaseMs must be at least 1000')
            .optional(),
          callbackTimeoutMs: timerMs('webhook.callbackTimeoutMs')
            .min(1, 'webhook.callbackTimeoutMs must be positive')
            .optional(),
        })
        .optional(),
    })
    .superRefine((o, ctx) => {
      const jwt = o.applicationId !== undefined || o.privateKey !== undefined;
      if (jwt && (o.applicationId === undefined || o.privateKey === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [o.applicationId === undefined ? 'applicationId' : 'privateKey'],
          message: 'JWT auth needs both applicationId and privateKey',
        });
      }
      if (!jwt && (o.apiKey === undefined || o.apiSecret === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message:
            'credentials missing: pass applicationId + privateKey (JWT, recommended) or apiKey + apiSecret (Basic)',
        });
      }
    }),
);

/**
 * `now` returns a valid Date: read once at creation, so that a clock returning epoch ms (a
 * number) fails here, not as a 503 on every webhook and a TypeError on every send.
 *
 * @example
 * ```ts
 * checkClock(() => new Date()) // passes; checkClock(() => Date.now()) throws ValidationError
 * ```
 */
export function checkClock(now: () => unknown): void {
  const value = now();
  if (isDate(value) && Number.isFinite(value.getTime())) return;
  const got = typeof value === 'number' ? 'a number (epoch ms? wrap it: () => new Date(ms))' : String(value);
  throw new ValidationError(`now must return a valid Date, got ${got}`, [
    { path: 'now', message: 'must return a valid Date' },
  ]);
}

/**
 * Validates the options of `createMessenger`.
 *
 * @example
 * ```ts
 * const o = parseMessengerOptions({ apiKey: 'key', apiSecret: 'secret', rateLimit: { perSecond: 2.5 } })
 * ```
 */
export function parseMessengerOptions(options: MessengerOptions): z.infer<typeof OptionsSchema> {
  const parsed = OptionsSchema.safeParse(options, { jitless: true });
  if (!parsed.success) {
    const issues = toIssues(parsed.error);
    throw new ValidationError(
      `Invalid createMessenger options: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      issues,
    );
  }
  return parsed.data;
}
