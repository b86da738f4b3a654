// The ambient names every checked example may use without declaring them (scripts/check-examples.mjs).
// Keep this list short: each name stands for something the surrounding text introduces.
import type { Messenger, PageId, Psid, SessionStore } from 'vonage-messenger';

declare global {
  /** A messenger from `createMessenger(...)`. */
  const messenger: Messenger;
  /** A session store. */
  const store: SessionStore;
  /** An incoming HTTP request (Fetch API) and its body as received. */
  const request: Request;
  const rawBody: string;
  /** The Page and the user of the conversation at hand, and a message's `message_uuid`. */
  const page: PageId;
  const user: Psid;
  const messageUuid: string;
  /** The Vonage application's credentials. */
  const applicationId: string;
  const privateKey: string;
  const signatureSecret: string;
  /** Whatever a `catch` caught. */
  const err: unknown;
  /** Bun's and Deno's globals, only as far as docs/deploy.md uses them (we install neither runtime's types). */
  const Bun: { serve(options: { port?: number; fetch(request: Request): Response | Promise<Response> }): unknown };
  const Deno: {
    env: { get(name: string): string | undefined };
    serve(options: { port?: number }, handler: (request: Request) => Response | Promise<Response>): unknown;
  };
  /** The application's own functions that examples call. */
  function alertOps(message: string): void;
  function handOverToAgent(user: Psid, note: string): Promise<void>;
}
