import type { z } from 'zod';
import type { DeliveryResult, Notification } from '../core/notification.js';
import type { Clock } from '../core/ports.js';

/** What every notifier may use, handed in once by the registry (tests pass their own). */
export interface NotifierContext {
  readonly clock: Clock;
  readonly fetch: typeof fetch;
  /** Upper bound of one send (HTTP request or SMTP session), in ms. */
  readonly timeoutMs: number;
  /** Where the console channel writes one line (stdout by default). */
  readonly writeLine: (line: string) => void;
}

export interface SendRequest<Settings> {
  readonly channelName: string;
  readonly settings: Settings;
  readonly notification: Notification;
  readonly signal: AbortSignal;
  readonly context: NotifierContext;
  /** The values of the channel's secret settings: scrub them from anything reported. */
  readonly secrets: readonly string[];
}

/**
 * One channel type, one file: its settings schema (a strict zod object, so typos are reported), the
 * settings that are secrets, a safe description, and the send.
 */
export interface NotifierDefinition<Schema extends z.ZodObject = z.ZodObject> {
  readonly type: string;
  readonly settingsSchema: Schema;
  /**
   * Settings whose values are secrets (a webhook URL holds its token): redacted in listings and
   * scrubbed from failure reasons. A URL keeps its origin when redacted.
   */
  readonly secretSettings: readonly (keyof z.output<Schema> & string)[];
  /** Where it delivers, for logs and the timeline: never a secret (a host, not a URL). */
  describe(settings: z.output<Schema>): string;
  send(request: SendRequest<z.output<Schema>>): Promise<DeliveryResult>;
}

/** Keeps a definition's settings type checked where it is written; the registry holds them erased. */
export function defineNotifier<Schema extends z.ZodObject>(
  definition: NotifierDefinition<Schema>,
): NotifierDefinition {
  return definition;
}
