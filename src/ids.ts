/**
 * Branded identifiers. A `Psid` names a user towards one Page; a `PageId` names the Page.
 * Both are numeric strings, and the brands stop one from being passed where the other is
 * expected. Parse untrusted input with {@link psid} / {@link pageId} (or the zod schemas).
 *
 * IDs stay strings: real PSIDs exceed 2^53 and change if they ever pass through a number.
 *
 * @module
 */
import * as z from 'zod';
import { ValidationError } from './errors.js';
import { DIGITS, MAX_ID_DIGITS } from './id-syntax.js';
import { lazySchema } from './lazy-schema.js';

export { MAX_ID_DIGITS } from './id-syntax.js';

// Not generic over the brand: inside a generic function zod's `.pipe()` inference fell back
// to `$ZodType<any>`, which made `Psid` and `PageId` plain `any` (no type safety at all).
// The brand is applied by the caller on a concrete type instead.
function idSchema(label: string) {
  return z
    .union([z.string(), z.number(), z.bigint()], {
      error: `${label} must be a string of digits (or a safe integer or bigint)`,
    })
    .transform((value, ctx) => {
      if (typeof value === 'number') {
        // Each case gets its own sentence: "not exact" is the wrong advice for -5 or 1.5.
        const problem = !Number.isInteger(value)
          ? 'is not a whole number'
          : value < 0
            ? 'must not be negative'
            : !Number.isSafeInteger(value)
              ? 'is not exact as a JavaScript number: pass it as a string'
              : undefined;
        if (problem !== undefined) {
          ctx.addIssue({ code: 'custom', message: `${label} ${value} ${problem}` });
          return z.NEVER;
        }
        return String(value);
      }
      if (typeof value === 'bigint') {
        if (value < 0n) {
          ctx.addIssue({ code: 'custom', message: `${label} must not be negative` });
          return z.NEVER;
        }
        return value.toString();
      }
      return value;
    })
    .pipe(
      z
        .string()
        .min(1, `${label} must not be empty`)
        .max(MAX_ID_DIGITS, `${label} is longer than ${MAX_ID_DIGITS} digits`)
        .regex(DIGITS, `${label} must contain only the digits 0-9`),
    );
}

/** A user's Page-Scoped ID: a numeric string, only meaningful towards one Page. */
export const PsidSchema = lazySchema(() => idSchema('PSID').brand<'Psid'>());
/** A Facebook Page ID: a numeric string. */
export const PageIdSchema = lazySchema(() => idSchema('Page ID').brand<'PageId'>());

/** A Page-Scoped ID (branded numeric string). */
export type Psid = z.output<typeof PsidSchema>;
/** A Facebook Page ID (branded numeric string). */
export type PageId = z.output<typeof PageIdSchema>;

declare const conversationBrand: unique symbol;
/** The key of one conversation: `"<pageId>:<psid>"`. Build it with {@link conversationKey}. */
export type ConversationKey = `${string}:${string}` & { readonly [conversationBrand]: true };

function parseWith<T>(
  schema: { safeParse(value: unknown): z.ZodSafeParseResult<T> },
  value: unknown,
  label: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  throw new ValidationError(`Invalid ${label}: ${issues.map((i) => i.message).join('; ')}`, issues);
}

/**
 * Parses a PSID or throws `ValidationError`.
 *
 * @example
 * ```ts
 * const user = psid('25381719828140932')
 * ```
 */
export function psid(value: unknown): Psid {
  return parseWith(PsidSchema, value, 'PSID');
}

/**
 * Parses a Page ID or throws `ValidationError`.
 *
 * @example
 * ```ts
 * const page = pageId('102290129340398')
 * ```
 */
export function pageId(value: unknown): PageId {
  return parseWith(PageIdSchema, value, 'Page ID');
}

/**
 * The store key of the conversation between a Page and one of its users.
 *
 * @example
 * ```ts
 * const key = conversationKey(pageId('1029'), psid('2538')) // "1029:2538"
 * ```
 */
export function conversationKey(page: PageId, user: Psid): ConversationKey {
  return `${page}:${user}` as ConversationKey;
}

/**
 * Splits a {@link ConversationKey} back into its Page ID and PSID, or throws
 * `ValidationError` (a key read back from a store is untrusted text).
 *
 * @example
 * ```ts
 * const { pageId, psid } = parseConversationKey(conversationKey(page, user)) // the same Page and user
 * ```
 */
export function parseConversationKey(key: ConversationKey): { pageId: PageId; psid: Psid } {
  const at = key.indexOf(':');
  // Without this check, "123" would parse as Page "12" and PSID "123" (slice(0, -1)).
  if (at < 0) {
    throw new ValidationError('Invalid conversation key: expected "<pageId>:<psid>"', [
      { path: '', message: 'missing ":" between the Page ID and the PSID' },
    ]);
  }
  return { pageId: pageId(key.slice(0, at)), psid: psid(key.slice(at + 1)) };
}
