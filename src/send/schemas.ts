/**
 * The inputs of the send methods, as zod schemas built once, on first use (never per send,
 * and never by an import that sends nothing: see src/lazy-schema.ts).
 * Limits follow Vonage's Messages API: text ≤ 640 characters "including unicode", media
 * URLs by public https URL (audio 10–2000 characters), `client_ref` ≤ 100 characters.
 *
 * Sources: Vonage Messages API spec (`messages-olympus.yml`, Messenger `Text`/`Audio`
 * schemas); the Java and Python Vonage SDKs (640, 100); docs/sending.md.
 *
 * @module
 */
import * as z from 'zod';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { type PageId, PageIdSchema, type Psid, PsidSchema } from '../ids.js';
import { lazySchema } from '../lazy-schema.js';
import type { KnownTag } from '../policy.js';
import { MESSAGING_CATEGORIES, type MessagingCategory } from '../vocabulary.js';

/** Longest `text` Vonage accepts for Messenger, counted in Unicode code points. */
export const MAX_TEXT_CHARS = 640;
/** Longest `client_ref` Vonage accepts (error 1450 beyond it). */
export const MAX_CLIENT_REF_CHARS = 100;
/** Longest media or webhook URL accepted (Vonage's audio URL limit, applied to every URL). */
export const MAX_URL_CHARS = 2000;
/** Shortest audio URL Vonage accepts. */
export const MIN_AUDIO_URL_CHARS = 10;

/**
 * Counts Unicode code points (what a person calls characters: an emoji is one, although
 * JavaScript's `length` counts it as two). Strings whose UTF-16 length is already within a
 * limit cannot exceed it in code points, so callers check `length` first.
 */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

const TextSchema = lazySchema(() =>
  z
    .string()
    .min(1, 'text must not be empty')
    .refine(
      (text) => text.length <= MAX_TEXT_CHARS || codePointLength(text) <= MAX_TEXT_CHARS,
      `text must be at most ${MAX_TEXT_CHARS} characters (Vonage's Messenger limit, counted in Unicode code points)`,
    ),
);

function httpsUrl(label: string, min = 1) {
  return z
    .string()
    .min(min, min > 1 ? `${label} must be at least ${min} characters` : `${label} must not be empty`)
    .max(MAX_URL_CHARS, `${label} must be at most ${MAX_URL_CHARS} characters`)
    .refine((value) => {
      if (!value.startsWith('https://')) return false;
      return URL.canParse(value);
    }, `${label} must be an absolute https:// URL (Messenger fetches media from a public https URL)`);
}

const CategorySchema = lazySchema(() =>
  z.enum(MESSAGING_CATEGORIES, {
    error: `category must be one of ${MESSAGING_CATEGORIES.join(', ')}`,
  }),
);

const TagSchema = lazySchema(() =>
  z
    .string()
    .min(1, 'tag must not be empty')
    .max(64, 'tag must be at most 64 characters')
    .regex(/^[A-Z_]+$/, 'tag must be a Messenger tag name in capitals, e.g. HUMAN_AGENT'),
);

const common = () => ({
  from: PageIdSchema,
  to: PsidSchema,
  tag: TagSchema.optional(),
  category: CategorySchema.optional(),
  clientRef: z
    .string()
    .max(MAX_CLIENT_REF_CHARS, `clientRef must be at most ${MAX_CLIENT_REF_CHARS} characters`)
    .optional(),
  webhookUrl: httpsUrl('webhookUrl').optional(),
});

/** A tag needs category `message_tag`; `message_tag` needs a tag (Vonage answers 422 otherwise). */
function checkTagAndCategory(
  value: { tag?: string | undefined; category?: MessagingCategory | undefined },
  ctx: z.RefinementCtx,
) {
  if (value.tag !== undefined && value.category !== undefined && value.category !== 'message_tag') {
    ctx.addIssue({
      code: 'custom',
      path: ['category'],
      message: `a tag is sent with category "message_tag", not "${value.category}" (leave category out or set it to "message_tag")`,
    });
  }
  if (value.category === 'message_tag' && value.tag === undefined) {
    ctx.addIssue({ code: 'custom', path: ['tag'], message: 'category "message_tag" needs a tag, e.g. HUMAN_AGENT' });
  }
}

/** Input of `sendText`. */
export const SendTextSchema = lazySchema(() =>
  z.strictObject({ ...common(), text: TextSchema }).superRefine(checkTagAndCategory),
);
/** Input of `sendImage` (`.jpg`, `.jpeg`, `.png`, `.gif`). */
export const SendImageSchema = lazySchema(() =>
  z.strictObject({ ...common(), url: httpsUrl('url') }).superRefine(checkTagAndCategory),
);
/** Input of `sendAudio` (`.mp3`; URL 10–2000 characters). */
export const SendAudioSchema = lazySchema(() =>
  z.strictObject({ ...common(), url: httpsUrl('url', MIN_AUDIO_URL_CHARS) }).superRefine(checkTagAndCategory),
);
/** Input of `sendVideo` (`.mp4`, H.264 + AAC). */
export const SendVideoSchema = SendImageSchema;
/** Input of `sendFile` (`.pdf`, `.zip`, `.csv`, …). */
export const SendFileSchema = SendImageSchema;

/** Input of `canSend`: a conversation and the kind of send. */
export const CanSendSchema = lazySchema(() =>
  z
    .strictObject({
      from: PageIdSchema,
      to: PsidSchema,
      tag: TagSchema.optional(),
      category: CategorySchema.optional(),
    })
    .superRefine(checkTagAndCategory),
);

/** A string that carries no brand of `Other` (a plain string, or the right brand). */
type Unbranded<Other> = string & { readonly [K in Exclude<keyof Other, keyof string>]?: never };

/**
 * A Page ID as the send methods accept it: a `PageId`, or a plain numeric string (or safe
 * integer) parsed at runtime — never a `Psid`, which is a type error.
 */
export type PageIdInput = PageId | Unbranded<Psid> | number | bigint;
/** A PSID as the send methods accept it: a `Psid` or a plain numeric string — never a `PageId`. */
export type PsidInput = Psid | Unbranded<PageId> | number | bigint;

/** Fields every send shares. */
export interface SendCommonInput {
  /** The Page that sends (the inbound message's `to`). */
  from: PageIdInput;
  /** The user (the inbound message's `from`). */
  to: PsidInput;
  /** A message tag; implies category `message_tag`. Today only HUMAN_AGENT works outside the window. */
  tag?: KnownTag | (string & {}) | undefined;
  /** Default `response`, or `message_tag` when `tag` is set. */
  category?: MessagingCategory | undefined;
  /** Your reference (≤ 100 characters), echoed in every status webhook. */
  clientRef?: string | undefined;
  /** Overrides the application's status webhook URL for this message (https). */
  webhookUrl?: string | undefined;
}

/** Input of `sendText`. */
export interface SendTextInput extends SendCommonInput {
  /** 1–640 characters (Unicode code points: an emoji counts as one). */
  text: string;
}

/** Input of `sendImage`, `sendAudio`, `sendVideo` and `sendFile`. */
export interface SendMediaInput extends SendCommonInput {
  /** A public https URL, ≤ 2000 characters (audio: ≥ 10). */
  url: string;
}

/** Input of `sendAudio`. */
export type SendAudioInput = SendMediaInput;

/** Input of `canSend`. */
export interface CanSendInput {
  /** The Page that would send. */
  from: PageIdInput;
  /** The user it would send to. */
  to: PsidInput;
  /** The tag it would carry (implies `category: 'message_tag'`). */
  tag?: KnownTag | (string & {}) | undefined;
  /** Default `message_tag` with a tag, `response` otherwise. */
  category?: MessagingCategory | undefined;
}

/** A validated text send. */
export type SendTextParams = z.output<typeof SendTextSchema>;
/** A validated media send. */
export type SendMediaParams = z.output<typeof SendImageSchema>;

type Issue = z.core.$ZodIssue;

/**
 * A union's issues, from the one branch the value had the shape of (`rateLimit: { perSecond:
 * NaN }` is the object branch, not `boolean`), so the message names the field and the reason
 * instead of zod's bare "Invalid input".
 */
function unionIssues(issue: Issue): readonly Issue[] {
  if (issue.code !== 'invalid_union') return [issue];
  // A branch the value did not have the shape of fails at its root (wrong type, wrong literal).
  const shaped = issue.errors.filter((branch) => branch.every((inner) => inner.path.length > 0));
  const [only] = shaped;
  if (shaped.length !== 1 || only === undefined) return [issue];
  return only.flatMap((inner) => unionIssues({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** Converts zod issues to the SDK's flat `{ path, message }` list. */
export function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues
    .flatMap(unionIssues)
    .map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/**
 * Parses `value` with `schema`, or throws `ValidationError` listing every problem. Never
 * echoes the input (it may be a message body the caller would not want in logs).
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toIssues(result.error);
  throw new ValidationError(
    `Invalid ${operation} input: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
    issues,
  );
}
