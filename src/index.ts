/**
 * vonage-messenger: Facebook Messenger over the Vonage Messages API, with Messenger's rules
 * enforced before the network.
 *
 * @module
 */

export {
  MESSENGER_CHANNELS,
  type SendOutcome,
  type SendTrace,
  type StoreOperation,
  type StoreOperationEvent,
  type WebhookTrace,
} from './diagnostics.js';
export * from './errors.js';
export * from './ids.js';
export * from './messenger.js';
export * from './policy.js';
export { checkedStore } from './store/checked.js';
export { ingestWith } from './store/ingest.js';
export { type LeaseRecord, settleLease, takeLease } from './store/lease.js';
export * from './store/memory.js';
export type * from './store/types.js';
export * from './vocabulary.js';
export * from './webhooks/index.js';
