/**
 * The bench's stand-in for src/diagnostics.ts: the SDK as it was
 * before the diagnostics channels, with each insertion point left as a pass-through (the
 * baseline of the "channels present, unsubscribed" rows). Bundled in place of the real
 * modules by bench/lib/variants.ts; never part of the package.
 */
// Re-exported by src/index.ts; its value plays no part in the bench.
export const MESSENGER_CHANNELS = {};

export const traceSend = <R>(_type: unknown, _params: unknown, run: (trace: undefined) => Promise<R>): Promise<R> =>
  run(undefined);
export const traceWebhookHandler =
  (handle: (request: Request, trace: undefined) => Promise<Response>) =>
  (request: Request): Promise<Response> =>
    handle(request, undefined);
export const traceReceive = <I, R>(receive: (input: I) => Promise<R>): ((input: I) => Promise<R>) => receive;
export const noteParsed = (): void => {};
export const noteReceived = (): void => {};
export const noteRefused = (): void => {};
export const publishPlatformError = (): void => {};
export const storeObserved = (): boolean => false;
export const timeStoreOperation = <T>(_operation: string, run: () => Promise<T>): Promise<T> => run();
export const messengerChannels = {};
