/**
 * The Page rules, once for every path: which Pages this messenger serves, when a Page counts
 * as unlinked (sends fail fast with `PageNotLinkedError`), when it is linked again (an inbound
 * message, `markPageLinked`), and what `pageStatus` reports.
 *
 * @module
 */
import { PageNotLinkedError, ValidationError } from './errors.js';
import type { PageId } from './ids.js';
import { callStore } from './store/guard.js';
import { inboundRelinks } from './store/ingest.js';
import type { PageState, SessionStore } from './store/types.js';
import type { PageLinkState } from './vocabulary.js';

/**
 * What `messenger.pageStatus` returns (see `PageStatus` in messenger.ts).
 */
export interface PageStatusOf {
  pageId: PageId;
  state: PageLinkState;
  linked: boolean;
  since?: Date;
  errorCode?: string;
  errorDetail?: string;
}

/** The message of a `PageNotLinkedError`: what happened and exactly how to fix it. */
export function pageNotLinkedMessage(pageId: string, page: PageState): string {
  const since = new Date(page.changedAt).toISOString();
  const cause = page.errorCode
    ? ` Vonage reported error ${page.errorCode}${page.errorDetail ? ` (${page.errorDetail})` : ''} at ${since}.`
    : ` It was marked unlinked at ${since}.`;
  return (
    `Facebook Page ${pageId} is not linked to Vonage, so nothing was sent.${cause}` +
    ' To fix it: Part 1 — in the Vonage Dashboard, open "Link Facebook Page", log in to Facebook and link this Page to your API key again;' +
    ' Part 2 — for each application that sends from this Page, open Applications → your application → "Linked social channels" and click "Link" next to the Page.' +
    ` Then call messenger.markPageLinked('${pageId}') (the next message a user sends to the Page also marks it linked). See docs/facebook-setup.md.`
  );
}

/**
 * The Page rules over one store and one list of declared Pages.
 */
export function createPageRules(deps: {
  store: SessionStore;
  pages: ReadonlySet<string> | undefined;
  now: () => number;
}) {
  const { store, pages, now } = deps;
  return {
    /** True when the messenger serves `page` (every Page when `pages` was not given). */
    isDeclared: (page: string): boolean => pages === undefined || pages.has(page),

    /** A send or a store call for an undeclared Page: refused before the store and the network. */
    checkDeclared(page: string, field: string): void {
      if (pages !== undefined && !pages.has(page)) {
        throw new ValidationError(
          `Page ${page} is not one of the pages this messenger serves (createMessenger({ pages })); refused before the store and the network.`,
          [{ path: field, message: `Page ${page} is not declared in pages` }],
        );
      }
    },

    /** Throws `PageNotLinkedError` when the store knows the Page unlinked. */
    assertLinked(page: PageId, state: PageState | null): void {
      if (state !== null && !state.linked) {
        throw new PageNotLinkedError(pageNotLinkedMessage(page, state), {
          pageId: page,
          since: new Date(state.changedAt),
          ...(state.errorCode !== undefined ? { errorCode: state.errorCode } : {}),
        });
      }
    },

    /** After a user's message at `at`: the Page is linked, unless known linked already. */
    async relinkOnInbound(page: PageId, state: PageState | null, at: number): Promise<void> {
      if (inboundRelinks(state)) await callStore('setPageLinked', () => store.setPageLinked(page, true, at));
    },

    async pageStatus(page: PageId): Promise<PageStatusOf> {
      const state = await callStore('getPage', () => store.getPage(page));
      if (state === null) return { pageId: page, state: 'unknown', linked: true };
      const status: PageStatusOf = {
        pageId: page,
        state: state.linked ? 'linked' : 'unlinked',
        linked: state.linked,
        since: new Date(state.changedAt),
      };
      if (state.errorCode !== undefined) status.errorCode = state.errorCode;
      if (state.errorDetail !== undefined) status.errorDetail = state.errorDetail;
      return status;
    },

    async markPageLinked(page: PageId): Promise<void> {
      this.checkDeclared(page, 'pageId');
      await callStore('setPageLinked', () => store.setPageLinked(page, true, now()));
    },
  };
}

/** The Page rules built by {@link createPageRules}. */
export type PageRules = ReturnType<typeof createPageRules>;
