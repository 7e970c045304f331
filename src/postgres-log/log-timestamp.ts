/**
 * Timestamps as PostgreSQL writes them in logs (`2026-11-23 23:29:20.864 UTC`, `… 23:29:20 CEST`,
 * `… +03`, or `%n` epoch seconds), to epoch milliseconds. Hot path: the date-time part is parsed
 * by hand and the second it falls in is cached, because consecutive lines share it.
 */

import { AMBIGUOUS_ZONES, offsetOfLocalTime, type LogTimezone } from './log-timezone.js';

/** Offsets in minutes of zone abbreviations PostgreSQL prints with its default timezone_abbreviations. */
const ZONE_OFFSETS: Readonly<Record<string, number>> = {
  UTC: 0,
  GMT: 0,
  Z: 0,
  UCT: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  IST: 60,
  CET: 60,
  CEST: 120,
  MET: 60,
  MEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  SAST: 120,
  EAT: 180,
  WAT: 60,
  CAT: 120,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AKST: -540,
  AKDT: -480,
  HST: -600,
  AST: -240,
  ADT: -180,
  NST: -210,
  NDT: -150,
  JST: 540,
  KST: 540,
  HKT: 480,
  SGT: 480,
  PHT: 480,
  WIB: 420,
  AWST: 480,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  PKT: 300,
};

export class TimestampParser {
  #lastKey = '';
  #lastBase = 0;
  #lastZone = '';
  /** The text after the time as last seen (` UTC`), untrimmed, to compare in place. */
  #lastZoneText = '\u0000';
  #lastOffset = 0;
  /** Zone abbreviations this parser does not know (their times are read as UTC); at most 8 kept. */
  readonly unknownZones = new Set<string>();
  /** Abbreviations several zones share (`IST`, `CST`), read without `--log-timezone`; at most 8 kept. */
  readonly ambiguousZones = new Set<string>();
  /** `--log-timezone`: letter abbreviations (and a missing zone) are read in it. */
  readonly #timezone: LogTimezone | null;

  constructor(options: { readonly timezone?: LogTimezone | null } = {}) {
    this.#timezone = options.timezone ?? null;
  }

  /** `2026-11-23 23:29:20[.864][ UTC]` → epoch ms, or null when it is not a date-time. */
  parseDateTime(text: string): number | null {
    if (text.length < 19) return null;
    let base: number;
    // Compared in place (`startsWith`), not sliced: no string is made while the second is the same.
    if (this.#lastKey !== '' && text.startsWith(this.#lastKey)) {
      base = this.#lastBase;
    } else {
      const year = digits(text, 0, 4);
      const month = digits(text, 5, 2);
      const day = digits(text, 8, 2);
      const hour = digits(text, 11, 2);
      const minute = digits(text, 14, 2);
      const second = digits(text, 17, 2);
      if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return null;
      base = Date.UTC(year, month - 1, day, hour, minute, second);
      this.#lastKey = text.slice(0, 19);
      this.#lastBase = base;
    }
    let rest = 19;
    let millis = 0;
    if (text.charCodeAt(rest) === 46 /* . */) {
      const fraction = digits(text, rest + 1, 3);
      if (fraction >= 0) millis = fraction;
      rest += 4;
    }
    const zone = this.#lastZoneText;
    if (zone.length === text.length - rest && text.startsWith(zone, rest))
      return base + millis - this.#lastOffset * 60_000;
    this.#lastZoneText = text.slice(rest);
    return base + millis - this.#zoneOffset(this.#lastZoneText.trim(), base) * 60_000;
  }

  /** `%n`: `1700000000.123` → epoch ms. */
  parseEpoch(text: string): number | null {
    const value = Number(text);
    return Number.isFinite(value) ? Math.round(value * 1000) : null;
  }

  /** `localMs`: the date-time's digits read as UTC (a zone's offset depends on the moment). */
  #zoneOffset(zone: string, localMs: number): number {
    if (zone === this.#lastZone) return this.#lastOffset;
    const numeric = /^([+-])(\d\d):?(\d\d)?$/.exec(zone);
    let offset: number | undefined;
    if (numeric) {
      offset = (Number(numeric[2]) * 60 + Number(numeric[3] ?? 0)) * (numeric[1] === '-' ? -1 : 1);
    } else if (
      this.#timezone !== null &&
      (AMBIGUOUS_ZONES[zone] !== undefined || ZONE_OFFSETS[zone] === undefined)
    ) {
      // An abbreviation several zones share, one not in the table, or none: the given zone says.
      offset = offsetOfLocalTime(this.#timezone, localMs);
    } else {
      offset = ZONE_OFFSETS[zone];
      if (offset !== undefined && AMBIGUOUS_ZONES[zone] !== undefined && this.ambiguousZones.size < 8)
        this.ambiguousZones.add(zone);
    }
    if (offset === undefined) {
      if (zone !== '' && this.unknownZones.size < 8) this.unknownZones.add(zone);
      offset = 0;
    }
    this.#lastZone = zone;
    this.#lastOffset = offset;
    return offset;
  }
}

function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}
