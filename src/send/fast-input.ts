/**
 * The send path's hand-tuned input check. The common send (a plain object with a Page ID and
 * a PSID as digit strings, the text or URL, at most a `response`/`update` category and a
 * `clientRef`) is checked here in well under a microsecond; zod's strict object parse of the
 * same input costs a few. Every other input, and every input with a problem, returns
 * `undefined` and goes to the zod schemas of schemas.ts, which stay the one statement of the
 * rules and the one source of error messages. So this accepts a subset of what the schemas
 * accept, with the same output (test/send/fast-input.test.ts checks both on generated input).
 *
 * @module
 */
import { isPlainIdString } from '../id-syntax.js';
import type { PageId, Psid } from '../ids.js';
import type { MessagingCategory } from '../vocabulary.js';
import { MAX_CLIENT_REF_CHARS, MAX_TEXT_CHARS, MAX_URL_CHARS } from './schemas.js';

/** The parameters of a send, as the schemas output them. */
export interface FastSendParams {
  from: PageId;
  to: Psid;
  category?: MessagingCategory;
  clientRef?: string;
  text?: string;
  url?: string;
}

/** What the content field of a send is: `text`, or `url` with its shortest length. */
export type ContentRule = { field: 'text' } | { field: 'url'; minLength: number };

/**
 * The validated parameters of a common send, or `undefined` when the input needs the schemas
 * (anything unusual, and anything invalid).
 */
export function fastSendParams(input: unknown, content: ContentRule): FastSendParams | undefined {
  // A plain object only: zod reads inherited keys too, and a plain object has none of its own
  // beyond what `for…in` lists.
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype)
    return undefined;
  const record = input as Record<string, unknown>;
  let from: unknown;
  let to: unknown;
  let body: unknown;
  let category: unknown;
  let clientRef: unknown;
  let hasCategory = false;
  let hasClientRef = false;
  for (const key in record) {
    if (key === 'from') from = record[key];
    else if (key === 'to') to = record[key];
    else if (key === content.field) body = record[key];
    else if (key === 'category') {
      hasCategory = true;
      category = record[key];
    } else if (key === 'clientRef') {
      hasClientRef = true;
      clientRef = record[key];
    } else return undefined; // a tag, a webhookUrl, or a key the schemas refuse
  }
  if (!isPlainIdString(from) || !isPlainIdString(to) || typeof body !== 'string') return undefined;
  if (content.field === 'text') {
    // Within 640 UTF-16 units is within 640 code points; a longer text is counted by the schema.
    if (body.length === 0 || body.length > MAX_TEXT_CHARS) return undefined;
  } else if (
    body.length < content.minLength ||
    body.length > MAX_URL_CHARS ||
    !body.startsWith('https://') ||
    !URL.canParse(body)
  ) {
    return undefined;
  }
  const params: FastSendParams = { from: from as PageId, to: to as Psid };
  if (hasCategory) {
    // message_tag needs a tag, which the fast path leaves to the schemas (as it does undefined).
    if (category !== 'response' && category !== 'update') return undefined;
    params.category = category;
  }
  if (hasClientRef) {
    if (typeof clientRef !== 'string' || clientRef.length > MAX_CLIENT_REF_CHARS) return undefined;
    params.clientRef = clientRef;
  }
  if (content.field === 'text') params.text = body;
  else params.url = body;
  return params;
}
