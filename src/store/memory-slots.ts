/**
 * The memory store's data structures: how a conversation is packed into a slot, and the
 * bounded maps that hold ids. memory.ts uses them to keep the SessionStore contract.
 *
 * @module
 */
import { compareInbound } from './shared.js';
import type { ClosedReason, ConversationState } from './types.js';

// Slot arrays grow by chunks of 1024 slots.
const CHUNK_BITS = 10;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;
// The numbers of one slot, at times[chunk][i * FIELDS + field].
const FIELDS = 4;
const AT = 0;
const SEEN_UNTIL = 1;
const SEEN_SEQ = 2;
const OUT = 3;

/**
 * Conversations in slots rather than one object each: a slot's numbers sit unboxed, side by
 * side, in a double array (FIELDS per slot, one cache line for two slots), and its message id
 * in a parallel array. An object with epoch-ms fields costs its header plus a 16-byte heap
 * number per timestamp; a slot index is a small integer that needs no allocation. Arrays grow
 * in fixed chunks, so growth never over-allocates by more than one chunk.
 *
 * Per slot: lastInboundAt; the latest message id, with `seenUntil` (when it stops counting
 * as seen) and `seenSeq` (the store's id counter when it was recorded: the store keeps the
 * latest id here, beside the conversation, instead of as a separate claim); lastOutboundAt
 * (NaN before the first send). Close markers and ad referrals are rare, so they live in maps
 * keyed by slot, consulted only when not empty.
 */
export class ConversationSlots {
  private readonly times: number[][] = [];
  private readonly uuids: string[][] = [];
  private readonly closed = new Map<number, { at: number; reason: ClosedReason }>();
  private readonly adReferrals = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  /** A free slot: a released one, or a new one (growing the arrays by a chunk when needed). */
  allocate(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.nextSlot++;
    if ((slot & CHUNK_MASK) === 0) {
      this.times.push(new Array<number>(CHUNK_SIZE * FIELDS).fill(Number.NaN));
      this.uuids.push(new Array<string>(CHUNK_SIZE).fill(''));
    }
    return slot;
  }

  /** Frees a slot for reuse; nothing of its conversation is carried over. */
  release(slot: number): void {
    this.uuids[slot >>> CHUNK_BITS]![slot & CHUNK_MASK] = '';
    this.times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + OUT] = Number.NaN;
    if (this.closed.size > 0) this.closed.delete(slot);
    if (this.adReferrals.size > 0) this.adReferrals.delete(slot);
    this.freeSlots.push(slot);
  }

  lastInboundAt(slot: number): number {
    return this.times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + AT]!;
  }

  /** The latest message id ('' in a released slot). */
  latestUuid(slot: number): string {
    return this.uuids[slot >>> CHUNK_BITS]![slot & CHUNK_MASK]!;
  }

  seenUntil(slot: number): number {
    return this.times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + SEEN_UNTIL]!;
  }

  seenSeq(slot: number): number {
    return this.times[slot >>> CHUNK_BITS]![(slot & CHUNK_MASK) * FIELDS + SEEN_SEQ]!;
  }

  /** Records the latest message: its time, its id, and until when (and as which id) it is seen. */
  setLatest(slot: number, at: number, uuid: string, seenUntil: number, seenSeq: number): void {
    const base = (slot & CHUNK_MASK) * FIELDS;
    const times = this.times[slot >>> CHUNK_BITS]!;
    times[base + AT] = at;
    times[base + SEEN_UNTIL] = seenUntil;
    times[base + SEEN_SEQ] = seenSeq;
    this.uuids[slot >>> CHUNK_BITS]![slot & CHUNK_MASK] = uuid;
  }

  /** lastOutboundAt becomes `at` if later; true when it changed. */
  recordOutbound(slot: number, at: number): boolean {
    const times = this.times[slot >>> CHUNK_BITS]!;
    const i = (slot & CHUNK_MASK) * FIELDS + OUT;
    const out = times[i]!;
    if (!Number.isNaN(out) && at <= out) return false;
    times[i] = at;
    return true;
  }

  /** The close marker becomes (`at`, `reason`) unless an older one would replace a newer; true when it changed. */
  markClosed(slot: number, at: number, reason: ClosedReason): boolean {
    const current = this.closed.get(slot);
    if (current !== undefined && at < current.at) return false;
    this.closed.set(slot, { at, reason });
    return true;
  }

  /** adReferralAt becomes `at` if later. */
  recordAdReferral(slot: number, at: number): void {
    const current = this.adReferrals.get(slot);
    if (current === undefined || at > current) this.adReferrals.set(slot, at);
  }

  /** When the platform last closed the conversation, if it did. */
  closedAt(slot: number): number | undefined {
    return this.closed.size > 0 ? this.closed.get(slot)?.at : undefined;
  }

  /** The slot's conversation as a fresh object (a copy: callers may change it). */
  state(slot: number): ConversationState {
    const chunk = slot >>> CHUNK_BITS;
    const base = (slot & CHUNK_MASK) * FIELDS;
    const times = this.times[chunk]!;
    const state: ConversationState = {
      lastInboundAt: times[base + AT]!,
      lastInboundUuid: this.uuids[chunk]![slot & CHUNK_MASK]!,
    };
    const out = times[base + OUT]!;
    if (!Number.isNaN(out)) state.lastOutboundAt = out;
    if (this.closed.size > 0) {
      const close = this.closed.get(slot);
      if (close !== undefined) {
        state.closedAt = close.at;
        state.closedReason = close.reason;
      }
    }
    if (this.adReferrals.size > 0) {
      const ad = this.adReferrals.get(slot);
      if (ad !== undefined) state.adReferralAt = ad;
    }
    return state;
  }

  /** Drops every slot. */
  clear(): void {
    this.times.length = 0;
    this.uuids.length = 0;
    this.closed.clear();
    this.adReferrals.clear();
    this.freeSlots.length = 0;
    this.nextSlot = 0;
  }
}

/** A Map that remembers insertion order and drops the oldest entry past `max`. */
export class BoundedMap<V> extends Map<string, V> {
  constructor(
    private readonly max: number,
    /** Told about each entry dropped for room (not about explicit deletes). */
    private readonly onEvict?: (key: string, value: V) => void,
  ) {
    super();
  }
  /**
   * One live iterator over the keys, reused for every eviction. A Map keeps deleted slots
   * until it rehashes and a fresh `keys()` iterator walks all of them, so a new iterator per
   * eviction made each insert cost O(deleted slots) once the map was full. A live iterator
   * skips entries deleted behind it and visits entries added after it; since everything it
   * passed was evicted, its next key is always the oldest live one.
   */
  private cursor: Iterator<string> | undefined;

  /** Adds a key known to be absent (one hash lookup fewer than `touch`). */
  add(key: string, value: V): void {
    this.set(key, value);
    if (this.size > this.max) this.evictOldest();
  }

  /** Sets and moves the key to the newest position. */
  touch(key: string, value: V): void {
    this.delete(key);
    this.set(key, value);
    if (this.size > this.max) this.evictOldest();
  }

  private evictOldest(): void {
    let next = this.cursor?.next();
    if (next === undefined || next.done === true) {
      this.cursor = this.keys();
      next = this.cursor.next();
    }
    if (next.done !== true) {
      if (this.onEvict !== undefined) this.onEvict(next.value, this.get(next.value) as V);
      this.delete(next.value);
    }
  }

  override clear(): void {
    super.clear();
    this.cursor = undefined;
  }
}

/**
 * The first `limit` entries of a scan in `(at, key)` order, without sorting the whole scan:
 * candidates collect until twice the limit, then are sorted and cut back to the limit; past
 * the cut, anything not before the current last entry is dropped on arrival. O(n log limit).
 */
export class FirstInOrder<T> {
  private entries: { at: number; key: string; value: T }[] = [];
  private last: { at: number; key: string } | undefined;
  constructor(private readonly limit: number) {}

  offer(at: number, key: string, value: T): void {
    if (this.last !== undefined && at > this.last.at) return; // the common case, without building an entry
    const entry = { at, key, value };
    if (this.last !== undefined && compareInbound(entry, this.last) >= 0) return;
    this.entries.push(entry);
    if (this.entries.length >= 2 * this.limit) this.cut();
  }

  /** The first `limit` entries offered, in order. */
  result(): readonly { at: number; key: string; value: T }[] {
    this.cut();
    return this.entries;
  }

  private cut(): void {
    this.entries.sort(compareInbound);
    if (this.entries.length >= this.limit) {
      this.entries.length = this.limit;
      this.last = this.entries[this.limit - 1];
    }
  }
}
