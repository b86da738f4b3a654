/**
 * The Page rules, once for every path: which Pages this messenger serves, when a Page counts
 * as unlinked (sends fail fast with `PageNotLinkedError`), when it is linked again (an inbound
 * message, `markPageLinked`), which tags the platform refused for it (a 1021 to HUMAN_AGENT,
 * until `markTagAvailable`), and what `pageStatus` reports.
 *
 * @module
 */
import { PageNotLinkedError, ValidationError } from './errors.js';
import type { PageId } from './ids.js';
import { callStore } from './store/guard.js';
import { inboundRelinks } from './store/ingest.js';
import type { PageState, SessionStore, TagAvailability } from './store/types.js';
import type { PageLinkState } from './vocabulary.js';

/**
 * A Page's link to Vonage as this SDK knows it. `state: 'unknown'` means nothing has been
 * recorded yet (no failure seen): sends are attempted, so `linked` is `true`.
 */
export interface PageStatus {
  /** The Page asked about. */
  pageId: PageId;
  /** `unknown`: nothing recorded yet, so sends are attempted. */
  state: PageLinkState;
  /** False only when the Page is known to be unlinked (sends fail fast). */
  linked: boolean;
  /** When the state last changed. */
  since?: Date;
  /** The Vonage error code that unlinked it (`"1370"`, `"1420"`). */
  errorCode?: string;
  /** Vonage's text for that error. */
  errorDetail?: string;
  /** Tags the platform refused for this Page (1021 to a HUMAN_AGENT send), until `markTagAvailable`. */
  unavailableTags: UnavailableTag[];
}

/**
 * A tag the platform refused for a Page.
 */
export interface UnavailableTag {
  /** The tag, e.g. `HUMAN_AGENT`. */
  tag: string;
  /** When the platform refused it. */
  since: Date;
  /** The Vonage error code (`"1021"`). */
  errorCode?: string;
  /** Vonage's text for it. */
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

  /** Tags the platform refused for the Page (none when the store cannot keep them). */
  const refusedTags = async (page: PageId): Promise<[string, TagAvailability][]> => {
    const read = store.getTagAvailability?.bind(store);
    if (read === undefined) return [];
    const tags = await callStore('getTagAvailability', () => read(page));
    return Object.entries(tags).filter(([, t]) => !t.available);
  };

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

    /** Whether any refused tag can matter: false for a store that cannot keep them (no read). */
    keepsTags: store.getTagAvailability !== undefined,

    /** The tags the platform refused for the Page, for the policy (`PageRules.unavailableTags` there). */
    async unavailableTags(page: PageId): Promise<string[]> {
      return (await refusedTags(page)).map(([tag]) => tag);
    },

    async pageStatus(page: PageId): Promise<PageStatus> {
      // As every other Page operation: an undeclared Page is a mistake, not an unknown Page.
      this.checkDeclared(page, 'pageId');
      const [state, refused] = await Promise.all([callStore('getPage', () => store.getPage(page)), refusedTags(page)]);
      const unavailableTags = refused.map(([tag, t]) => {
        const out: UnavailableTag = { tag, since: new Date(t.changedAt) };
        if (t.errorCode !== undefined) out.errorCode = t.errorCode;
        if (t.errorDetail !== undefined) out.errorDetail = t.errorDetail;
        return out;
      });
      if (state === null) return { pageId: page, state: 'unknown', linked: true, unavailableTags };
      const status: PageStatus = {
        pageId: page,
        state: state.linked ? 'linked' : 'unlinked',
        linked: state.linked,
        since: new Date(state.changedAt),
        unavailableTags,
      };
      if (state.errorCode !== undefined) status.errorCode = state.errorCode;
      if (state.errorDetail !== undefined) status.errorDetail = state.errorDetail;
      return status;
    },

    async markPageLinked(page: PageId): Promise<void> {
      this.checkDeclared(page, 'pageId');
      await callStore('setPageLinked', () => store.setPageLinked(page, true, now()));
    },

    /** Allows and offers `tag` again for the Page (after a 1021 made it unavailable). */
    async markTagAvailable(page: PageId, tag: unknown = 'HUMAN_AGENT'): Promise<void> {
      this.checkDeclared(page, 'pageId');
      if (typeof tag !== 'string' || tag.length === 0) {
        throw new ValidationError('markTagAvailable: tag must be a non-empty string', [
          { path: 'tag', message: 'must be a non-empty string' },
        ]);
      }
      const set = store.setTagAvailability?.bind(store);
      if (set !== undefined) await callStore('setTagAvailability', () => set(page, tag, true, now()));
    },
  };
}

/** The Page rules built by {@link createPageRules}. */
export type PageRules = ReturnType<typeof createPageRules>;
