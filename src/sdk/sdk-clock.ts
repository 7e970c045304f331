/**
 * The SDK's wall clock. The SDK runs inside other people's apps and imports nothing of ours but pure
 * core/ modules, so it cannot take platform/'s clock: this is its one reading of the system time.
 * `createHindsight({ now })` replaces it (tests).
 */
export const systemNow = (): number => Date.now();
