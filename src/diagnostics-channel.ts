// The one import of node:diagnostics_channel. A Worker without `nodejs_compat` has no such
// module, so the Workers build (tsup.worker.config.ts) swaps in diagnostics-channel-web.ts.
export * from 'node:diagnostics_channel';
