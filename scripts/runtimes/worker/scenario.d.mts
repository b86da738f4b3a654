import type { Plugin } from 'esbuild';
import type { createSandbox, inboundText, signWebhook } from '../../../src/testing/index.js';

export declare const WORKER_ENTRY: string;
export declare function bundleWorker(options?: { entry?: string; plugins?: Plugin[]; external?: string[] }): Promise<{
  code: string;
  nodeImports: string[];
}>;
export declare function runWorkerScenario(options: {
  code: string;
  /** `vonage-messenger/testing`, from wherever the caller loads the package. */
  testing: { createSandbox: typeof createSandbox; inboundText: typeof inboundText; signWebhook: typeof signWebhook };
}): Promise<{ forgedStatus: number; status: number; reply: string }>;
