/** What went wrong on the SDK's side; each is reported through `onError`, never thrown into the app. */
export type SdkProblemCode =
  /** The server could not be reached or answered 5xx/429: events stay buffered (bounded) and are retried. */
  | 'SDK_UNREACHABLE'
  /** 401/403: the token is missing, unknown or lacks role `ingest`; events stay buffered (bounded). */
  | 'SDK_TOKEN_REFUSED'
  /** The server refused events as invalid (400, 413 for a single event, or items listed in `rejected`). */
  | 'SDK_REJECTED'
  /** The buffer is full: the oldest events are being dropped (counted in `stats().dropped`). */
  | 'SDK_BUFFER_FULL'
  /** A bug of the SDK caught in one of its hooks; the app's request went on untouched. */
  | 'SDK_INTERNAL';

export class HindsightSdkError extends Error {
  readonly code: SdkProblemCode;

  constructor(code: SdkProblemCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HindsightSdkError';
    this.code = code;
  }
}

/** The default `onError`: one console line per problem (the caller reports each kind once per episode). */
export const warnOnConsole = (problem: HindsightSdkError): void => {
  console.warn(`hindsight: ${problem.message}`);
};
