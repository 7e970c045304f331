/** The ports core/ and app/ need from the outside world, named by role. Adapters implement them. */

/** Wall-clock time; tests fast-forward a fake one instead of sleeping. */
export interface Clock {
  now(): number;
}

/** Unique ids for findings, incidents and the like. */
export interface IdSource {
  next(prefix: string): string;
}
