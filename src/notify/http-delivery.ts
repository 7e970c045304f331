import type { DeliveryResult } from '../core/notification.js';
import { delivered, deliveryFailed } from '../core/notification.js';
import { escapeControlCharacters, oneLine, truncate } from './markup-escape.js';
import type { NotifierContext } from './notifier-definition.js';
import { hostOf, scrubSecrets } from './secret-redaction.js';

/** One HTTP request of a notifier. */
export interface HttpMessage {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** A receiver that states its retry delay in the body (Discord's `retry_after`): ms, or null. */
  readonly retryAfterFromBody?: (body: string) => number | null;
}

export interface HttpSendOptions {
  readonly signal: AbortSignal;
  readonly context: NotifierContext;
  readonly secrets: readonly string[];
}

const EXCERPT_CHARS = 200;

/**
 * POSTs one message with the context's fetch, bounded by `timeoutMs` and the caller's signal.
 * 2xx is sent; 429 and 5xx are retryable (with the receiver's Retry-After when it gives one);
 * any other answer is not, nor is a redirect (the body would go to another address). Reasons
 * name the host only, never the URL: a webhook URL is its secret.
 */
export async function postHttp(message: HttpMessage, options: HttpSendOptions): Promise<DeliveryResult> {
  const host = hostOf(message.url);
  if (!URL.canParse(message.url))
    return deliveryFailed('the channel URL is not a valid URL: fix the channel', { retryable: false });
  if (options.signal.aborted) return cancelled();
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.context.timeoutMs)]);
  let response: Response;
  try {
    response = await options.context.fetch(message.url, {
      method: 'POST',
      headers: { 'user-agent': 'Hindsight', ...message.headers },
      body: message.body,
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    if (isAborted(options.signal)) return cancelled();
    if (signal.aborted) {
      return deliveryFailed(`no answer from ${host} within ${seconds(options.context.timeoutMs)}`, {
        retryable: true,
        maybeDelivered: true,
      });
    }
    return deliveryFailed(`could not reach ${host}: ${scrub(systemCause(error), options.secrets)}`, {
      retryable: true,
    });
  }

  if (response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return delivered;
  }
  const text = await readText(response);
  const excerpt = scrub(oneLine(truncate(text, EXCERPT_CHARS)), options.secrets);
  const answered = `${host} answered HTTP ${response.status}${excerpt === '' ? '' : `: ${excerpt}`}`;

  if (response.status === 429 || response.status >= 500) {
    const retryAfterMs =
      (message.retryAfterFromBody === undefined ? null : message.retryAfterFromBody(text)) ??
      parseRetryAfter(response.headers.get('retry-after'), options.context.clock.now());
    return deliveryFailed(
      answered,
      retryAfterMs === null ? { retryable: true } : { retryable: true, retryAfterMs },
    );
  }
  if (response.status >= 300 && response.status < 400) {
    return deliveryFailed(
      `${host} redirected (HTTP ${response.status}): configure the address it redirects to`,
      {
        retryable: false,
      },
    );
  }
  if (response.status === 404 || response.status === 410) {
    return deliveryFailed(`${answered} — the webhook or topic no longer exists: update the channel`, {
      retryable: false,
    });
  }
  if (response.status === 401 || response.status === 403) {
    return deliveryFailed(`${answered} — the channel's credentials were refused: update the channel`, {
      retryable: false,
    });
  }
  return deliveryFailed(`${answered} — the message was refused: check the channel's settings`, {
    retryable: false,
  });
}

/**
 * A Retry-After header in ms: delay-seconds or an HTTP date (relative to `now`); null when absent
 * or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Read through a call: TypeScript keeps `aborted` narrowed to false after the first check. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function cancelled(): DeliveryResult {
  return deliveryFailed('sending was cancelled (shutting down)', { retryable: true });
}

async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

/** The system's reason (`ECONNREFUSED`) rather than fetch's bare "fetch failed". */
function systemCause(error: unknown): string {
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? code : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function scrub(text: string, secrets: readonly string[]): string {
  return escapeControlCharacters(scrubSecrets(text, secrets));
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
