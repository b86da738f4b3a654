// The Workers build's stand-in for node:diagnostics_channel (see diagnostics-channel.ts):
// nothing can subscribe, so every channel reports no subscriber and publishing is a no-op.
// src/diagnostics.ts already publishes nothing where `tracingChannel` is missing.
import type * as dc from 'node:diagnostics_channel';

const silent = {
  hasSubscribers: false,
  publish(): void {},
  subscribe(): void {},
  unsubscribe(): boolean {
    return false;
  },
};

export const channel = (_name: string | symbol): dc.Channel => silent as unknown as dc.Channel;
export const tracingChannel: typeof dc.tracingChannel | undefined = undefined;
