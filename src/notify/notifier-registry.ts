import { NAME_PATTERN } from '../core/catalog.js';
import { z } from 'zod';
import type {
  DeliveryResult,
  Notification,
  NotificationChannel,
  Notifier,
  NotifierLookup,
} from '../core/notification.js';
import { deliveryFailed } from '../core/notification.js';
import type { Clock } from '../core/ports.js';
import { systemClock } from '../platform/system-clock.js';
import { consoleNotifier } from './console-notifier.js';
import { discordNotifier } from './discord-notifier.js';
import { emailNotifier } from './email-notifier.js';
import { escapeControlCharacters } from './markup-escape.js';
import type { NotifierContext, NotifierDefinition } from './notifier-definition.js';
import { ntfyNotifier } from './ntfy-notifier.js';
import { pagerDutyNotifier } from './pagerduty-notifier.js';
import { redactSecretValue, scrubSecrets } from './secret-redaction.js';
import { slackNotifier } from './slack-notifier.js';
import { teamsNotifier } from './teams-notifier.js';
import { webhookNotifier } from './webhook-notifier.js';

/**
 * Channel types by name. Adding a channel is one file (a `NotifierDefinition`) and one line in
 * `BUILT_IN_NOTIFIERS`; nothing else changes. The registry is also where configuration learns
 * each type's settings schema (`channelSchema`, `parseChannel`) and how to show a channel
 * without its secrets (`redactedSettings`).
 */

export const BUILT_IN_NOTIFIERS: readonly NotifierDefinition[] = [
  consoleNotifier,
  webhookNotifier,
  slackNotifier,
  discordNotifier,
  teamsNotifier,
  emailNotifier,
  pagerDutyNotifier,
  ntfyNotifier,
];

export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

export interface NotifierRegistryOptions {
  readonly definitions?: readonly NotifierDefinition[];
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly writeLine?: (line: string) => void;
}

/** A problem with one `channels:` entry, with the path of the setting (`url`, `to.0`). */
export interface ChannelIssue {
  readonly path: string;
  readonly message: string;
}

export type ChannelParse =
  | { readonly ok: true; readonly channel: NotificationChannel }
  | { readonly ok: false; readonly issues: readonly ChannelIssue[] };

export interface NotifierRegistry extends NotifierLookup {
  readonly types: readonly string[];
  notifierFor(type: string): Notifier | undefined;
  /**
   * Validates one `channels:` entry as written, `{ name, type, ...settings }`, reporting every
   * problem at once; the channel it returns holds the parsed settings (defaults applied).
   */
  parseChannel(entry: unknown): ChannelParse;
  /** The same as a zod schema, for a configuration schema to embed: entry → `NotificationChannel`. */
  readonly channelSchema: z.ZodType<NotificationChannel>;
  /** The channel's settings for display: secret settings as `***` (a URL keeps its origin). */
  redactedSettings(channel: NotificationChannel): Readonly<Record<string, unknown>>;
}

const channelName = z
  .string()
  .regex(
    NAME_PATTERN,
    'a channel name is 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export function createNotifierRegistry(options: NotifierRegistryOptions = {}): NotifierRegistry {
  const definitions = new Map<string, NotifierDefinition>();
  for (const definition of options.definitions ?? BUILT_IN_NOTIFIERS) {
    if (definitions.has(definition.type))
      throw new Error(`two notifiers declare the channel type "${definition.type}"`);
    definitions.set(definition.type, definition);
  }
  const context: NotifierContext = {
    clock: options.clock ?? systemClock,
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
    writeLine: options.writeLine ?? ((line) => process.stdout.write(`${line}\n`)),
  };
  const notifiers = new Map<string, Notifier>(
    [...definitions.values()].map((definition) => [definition.type, bind(definition, context)]),
  );
  const types = [...definitions.keys()];

  const parseChannel = (entry: unknown): ChannelParse => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return {
        ok: false,
        issues: [{ path: '', message: 'a channel is an object: { name, type, …settings }' }],
      };
    }
    const { name, type, ...settings } = entry as Record<string, unknown>;
    const issues: ChannelIssue[] = [];
    const parsedName = channelName.safeParse(name);
    if (!parsedName.success)
      issues.push({
        path: 'name',
        message: name === undefined ? 'a channel needs a name' : firstMessage(parsedName.error),
      });
    const definition = typeof type === 'string' ? definitions.get(type) : undefined;
    if (definition === undefined) {
      issues.push({
        path: 'type',
        message: `unknown channel type ${JSON.stringify(type)}; expected one of ${types.join(', ')}`,
      });
      return { ok: false, issues };
    }
    const parsed = definition.settingsSchema.safeParse(settings);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        issues.push({ path: issue.path.map(String).join('.'), message: issue.message });
    }
    if (issues.length > 0 || !parsed.success || !parsedName.success) return { ok: false, issues };
    return { ok: true, channel: { name: parsedName.data, type: definition.type, settings: parsed.data } };
  };

  const channelSchema = z.unknown().transform((entry, ctx): NotificationChannel => {
    const result = parseChannel(entry);
    if (result.ok) return result.channel;
    for (const issue of result.issues)
      ctx.addIssue({
        code: 'custom',
        message: issue.message,
        path: issue.path === '' ? [] : issue.path.split('.'),
      });
    return z.NEVER;
  });

  return {
    types,
    notifierFor: (type) => notifiers.get(type),
    parseChannel,
    channelSchema,
    redactedSettings: (channel) => {
      const secret = new Set(definitions.get(channel.type)?.secretSettings ?? Object.keys(channel.settings));
      return Object.fromEntries(
        Object.entries(channel.settings).map(([key, value]) => [
          key,
          secret.has(key) ? redactSecretValue(value) : value,
        ]),
      );
    },
  };
}

/** A definition as a core `Notifier`: settings checked on every send, secrets kept out of reasons. */
function bind(definition: NotifierDefinition, context: NotifierContext): Notifier {
  return {
    type: definition.type,
    describe: (channel) => {
      const parsed = definition.settingsSchema.safeParse(channel.settings);
      return parsed.success ? definition.describe(parsed.data) : `${definition.type} (invalid settings)`;
    },
    send: async (
      channel: NotificationChannel,
      notification: Notification,
      signal: AbortSignal,
    ): Promise<DeliveryResult> => {
      if (channel.type !== definition.type) {
        return deliveryFailed(`channel ${channel.name} is of type ${channel.type}, not ${definition.type}`, {
          retryable: false,
        });
      }
      const parsed = definition.settingsSchema.safeParse(channel.settings);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.map(String).join('.') || 'settings'}: ${issue.message}`,
        );
        return deliveryFailed(
          `channel ${channel.name} has invalid settings (${problems.join('; ')}): fix the configuration`,
          { retryable: false },
        );
      }
      const secrets = secretValues(definition, parsed.data);
      try {
        return await definition.send({
          channelName: channel.name,
          settings: parsed.data,
          notification,
          signal,
          context,
          secrets,
        });
      } catch (error) {
        // A notifier that throws has a bug; still, the reason must not leak a secret.
        const message = error instanceof Error ? error.message : String(error);
        return deliveryFailed(
          `the ${definition.type} notifier failed unexpectedly: ${escapeControlCharacters(scrubSecrets(message, secrets))}`,
          {
            retryable: true,
          },
        );
      }
    },
  };
}

function secretValues(definition: NotifierDefinition, settings: Readonly<Record<string, unknown>>): string[] {
  const values: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach(collect);
  };
  for (const key of definition.secretSettings) collect(settings[key]);
  return values;
}

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'invalid';
}
