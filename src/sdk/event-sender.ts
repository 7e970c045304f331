import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { EventQueue } from './event-queue.js';
import { HindsightSdkError } from './sdk-problem.js';
import type { SdkProblemCode } from './sdk-problem.js';
import { SDK_NAME } from './wire-event.js';
import type { WireEvent } from './wire-event.js';

const gzipAsync = promisify(gzip);

export interface EventSenderOptions {
  /** The full URL of `POST /api/v1/events`. */
  readonly url: string;
  readonly token: string;
  readonly service: string;
  readonly maxBatch: number;
  readonly maxBuffer: number;
  readonly flushIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly report: (problem: HindsightSdkError) => void;
  readonly now: () => number;
}

export interface SenderStats {
  /** Events the server accepted. */
  readonly sent: number;
  /** Events dropped because the buffer was full (or refused whole by the server: see `rejected`). */
  readonly dropped: number;
  /** Events waiting to be sent. */
  readonly buffered: number;
  /** Attempts that failed (unreachable, timeout, 5xx, 401/403); their events were kept for a retry. */
  readonly failedSends: number;
  /** Events the server refused as invalid (never retried). */
  readonly rejected: number;
}

type Outcome = 'sent' | 'retry' | 'idle';

const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/**
 * Sends events in batches (`maxBatch`, or every `flushIntervalMs`), gzipped, with the bearer token,
 * one request at a time and never on the request path (an unref'd timer: it does not keep the app
 * alive). While the server cannot be reached the events wait in a bounded queue — the oldest are
 * dropped and counted, and the count travels in the next batch's `dropped` — and attempts back off
 * (0.5 s doubling to 30 s, jittered). Nothing here throws: problems go to `report`, once per episode.
 */
export class EventSender {
  readonly #o: EventSenderOptions;
  readonly #queue: EventQueue<WireEvent>;
  readonly #timer: NodeJS.Timeout;
  #batchLimit: number;
  #inFlight: Promise<Outcome> | null = null;
  #kicked = false;
  #retryAt = 0;
  #attempt = 0;
  #closed = false;
  #sent = 0;
  #failedSends = 0;
  #rejected = 0;
  /** Problems reported in the current episode (cleared when a batch gets through). */
  readonly #reported = new Set<SdkProblemCode>();

  constructor(options: EventSenderOptions) {
    this.#o = options;
    this.#queue = new EventQueue(options.maxBuffer);
    this.#batchLimit = options.maxBatch;
    this.#timer = setInterval(() => {
      this.#tick();
    }, options.flushIntervalMs);
    this.#timer.unref();
  }

  push(event: WireEvent): void {
    if (this.#closed) return;
    if (this.#queue.push(event)) {
      this.#once(
        'SDK_BUFFER_FULL',
        `${this.#o.maxBuffer} events are waiting for ${this.#o.url}: dropping the oldest (see stats().dropped; the count is sent with the next batch)`,
      );
    }
    if (this.#queue.size >= this.#batchLimit && !this.#kicked && this.#inFlight === null) {
      this.#kicked = true;
      setImmediate(() => {
        this.#kicked = false;
        this.#tick();
      }).unref();
    }
  }

  stats(): SenderStats {
    return {
      sent: this.#sent,
      dropped: this.#queue.droppedTotal,
      buffered: this.#queue.size,
      failedSends: this.#failedSends,
      rejected: this.#rejected,
    };
  }

  /** Sends what is buffered now (ignoring the backoff), batch after batch, until empty or a send fails. */
  async flush(): Promise<void> {
    for (;;) {
      const outcome = await this.#next();
      if (outcome !== 'sent' || this.#queue.size === 0) return;
    }
  }

  /** Stops the timer after one last flush; later events are ignored. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.#closed = true;
  }

  #tick(): void {
    if (this.#inFlight !== null || this.#queue.size === 0 || this.#o.now() < this.#retryAt) return;
    void this.#next().then((outcome) => {
      // A backlog of full batches goes out back to back, not one per interval.
      if (outcome === 'sent' && this.#queue.size >= this.#batchLimit) this.#tick();
    });
  }

  /** One send, after the one in flight (never two at once). */
  async #next(): Promise<Outcome> {
    while (this.#inFlight !== null) await this.#inFlight;
    const sending = this.#send().catch((error: unknown) => {
      this.#once('SDK_INTERNAL', `could not send events (a bug in hindsight/sdk): ${String(error)}`, error);
      return 'idle' as const;
    });
    this.#inFlight = sending;
    try {
      return await sending;
    } finally {
      this.#inFlight = null;
    }
  }

  async #send(): Promise<Outcome> {
    const batch = this.#queue.take(this.#batchLimit);
    if (batch.length === 0) return 'idle';
    const dropped = this.#queue.droppedUnreported;
    let response: Response;
    let text: string;
    try {
      const body = await gzipAsync(
        JSON.stringify({ service: this.#o.service, sdk: SDK_NAME, dropped, events: batch }),
      );
      response = await fetch(this.#o.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.#o.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body,
        signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return this.#failed(
        batch,
        'SDK_UNREACHABLE',
        `cannot reach ${this.#o.url} (${describe(error)}); buffering up to ${this.#o.maxBuffer} events and retrying`,
      );
    }
    if (response.ok) {
      this.#sent += batch.length;
      this.#queue.reported(dropped);
      this.#attempt = 0;
      this.#retryAt = 0;
      this.#reported.delete('SDK_UNREACHABLE');
      this.#reported.delete('SDK_TOKEN_REFUSED');
      this.#reported.delete('SDK_BUFFER_FULL');
      if (this.#batchLimit < this.#o.maxBatch)
        this.#batchLimit = Math.min(this.#o.maxBatch, this.#batchLimit * 2);
      this.#noteRejected(text);
      return 'sent';
    }
    const said = serverMessage(text);
    if (response.status === 401 || response.status === 403) {
      return this.#failed(
        batch,
        'SDK_TOKEN_REFUSED',
        `${this.#o.url} refused the token (${response.status}${said}): give createHindsight({ token }) a token with role ingest (an admin creates one with POST /api/v1/tokens); buffering up to ${this.#o.maxBuffer} events meanwhile`,
      );
    }
    if (response.status === 413 && batch.length > 1) {
      this.#batchLimit = Math.max(1, Math.floor(batch.length / 2));
      this.#queue.putBack(batch);
      return 'retry';
    }
    if (response.status === 400 || response.status === 413) {
      // Retrying the same body cannot help: count it and move on.
      this.#rejected += batch.length;
      this.#queue.reported(dropped);
      this.#once(
        'SDK_REJECTED',
        `${this.#o.url} refused a batch of ${batch.length} events (${response.status}${said})`,
      );
      return 'sent';
    }
    return this.#failed(
      batch,
      'SDK_UNREACHABLE',
      `${this.#o.url} answered ${response.status}${said}; buffering up to ${this.#o.maxBuffer} events and retrying`,
    );
  }

  #failed(batch: readonly WireEvent[], code: SdkProblemCode, message: string): Outcome {
    this.#failedSends++;
    this.#queue.putBack(batch);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 16);
    this.#retryAt = this.#o.now() + ceiling / 2 + (Math.random() * ceiling) / 2;
    this.#once(code, message);
    return 'retry';
  }

  /** A 202 lists the items it refused: count them, say the first problem once. */
  #noteRejected(text: string): void {
    let rejected: unknown;
    try {
      rejected = (JSON.parse(text) as { rejected?: unknown }).rejected;
    } catch {
      return;
    }
    if (!Array.isArray(rejected) || rejected.length === 0) return;
    this.#rejected += rejected.length;
    const first = rejected[0] as { problem?: unknown } | undefined;
    const problem = typeof first?.problem === 'string' ? `: ${first.problem}` : '';
    this.#once('SDK_REJECTED', `${this.#o.url} refused ${rejected.length} events as invalid${problem}`);
  }

  #once(code: SdkProblemCode, message: string, cause?: unknown): void {
    if (this.#reported.has(code)) return;
    this.#reported.add(code);
    try {
      this.#o.report(new HindsightSdkError(code, message, { cause }));
    } catch {
      // The app's onError threw: nothing more to do without throwing into the app.
    }
  }
}

const describe = (error: unknown): string => {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: { code?: unknown } }).cause;
    return typeof cause?.code === 'string' ? cause.code : error.message;
  }
  return String(error);
};

const serverMessage = (text: string): string => {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    return typeof message === 'string' ? `: ${message.slice(0, 300)}` : '';
  } catch {
    return text === '' ? '' : `: ${text.slice(0, 300)}`;
  }
};
