/**
 * A FIFO with a bound: past `max` items the oldest are dropped and counted. Taking from the front
 * moves an index (no shifting of a 10,000-item array per batch); the array is compacted now and then.
 */
export class EventQueue<T> {
  readonly #max: number;
  #items: (T | undefined)[] = [];
  #head = 0;
  /** Items dropped since the counter was last read with `takeDropped`. */
  #dropped = 0;
  #droppedTotal = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /** Drops counted since the last delivered batch (they travel in the next batch's `dropped`). */
  get droppedUnreported(): number {
    return this.#dropped;
  }

  /** Returns true when the push dropped the oldest item. */
  push(item: T): boolean {
    this.#items.push(item);
    if (this.size <= this.#max) return false;
    this.#items[this.#head] = undefined;
    this.#head++;
    this.#count(1);
    this.#compact();
    return true;
  }

  /** The oldest `n` items, removed. */
  take(n: number): T[] {
    const out = this.#items.slice(this.#head, this.#head + n) as T[];
    this.#head += out.length;
    this.#compact();
    return out;
  }

  /** Puts a batch that could not be delivered back in front; what no longer fits (the oldest) is dropped. */
  putBack(batch: readonly T[]): void {
    const room = Math.max(0, this.#max - this.size);
    const kept = batch.length > room ? batch.slice(batch.length - room) : batch;
    this.#count(batch.length - kept.length);
    this.#items = [...kept, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  /** A delivered batch carried `n` of the unreported drops. */
  reported(n: number): void {
    this.#dropped = Math.max(0, this.#dropped - n);
  }

  #count(n: number): void {
    this.#dropped += n;
    this.#droppedTotal += n;
  }

  #compact(): void {
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
