import { userError } from '../core/errors.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { DeliveryResult, NotifierLookup } from '../core/notification.js';
import { deliveryFailed } from '../core/notification.js';
import { onCallAt, type OnCallShift } from '../core/on-call-schedule.js';
import type { PagingDirectory } from '../core/paging-records.js';
import type { IdSource } from '../core/ports.js';

export const CHANNEL_NOT_FOUND = 'CHANNEL_NOT_FOUND';

/** Who is on call for every schedule at one instant. */
export interface OnCallReport {
  readonly at: number;
  readonly schedules: readonly (OnCallShift & { readonly timeZone: string })[];
}

/** `hindsight oncall` and `GET /api/v1/oncall`: the same answer from a file's directory or the store's. */
export const onCallReport = (directory: PagingDirectory, at: number): OnCallReport => ({
  at,
  schedules: directory.schedules.map((s) => ({ ...onCallAt(s, at), timeZone: s.timeZone })),
});

export interface ChannelTestResult {
  readonly channel: string;
  readonly type: string;
  /** Where it delivers, without secrets. */
  readonly destination: string;
  readonly result: DeliveryResult;
}

/** Sends a test message straight to a channel (not through the outbox) and returns what happened. */
export const testChannel = async (
  input: { directory: PagingDirectory; notifiers: NotifierLookup; ids: IdSource },
  request: { name: string; requestedBy: string | null; now: number; signal: AbortSignal },
): Promise<ChannelTestResult> => {
  const channel = input.directory.channels.find((c) => c.name === request.name);
  if (channel === undefined) {
    const known = input.directory.channels.map((c) => c.name);
    throw userError(
      CHANNEL_NOT_FOUND,
      `no channel "${request.name}" (${known.length === 0 ? 'none is configured: declare it under channels:' : `configured: ${known.join(', ')}`})`,
    );
  }
  const notifier = input.notifiers.notifierFor(channel.type);
  if (notifier === undefined) {
    return {
      channel: channel.name,
      type: channel.type,
      destination: channel.type,
      result: deliveryFailed(`no notifier for channel type "${channel.type}"`, { retryable: false }),
    };
  }
  const result = await notifier.send(
    channel,
    {
      kind: 'test',
      idempotencyKey: input.ids.next('test'),
      at: request.now,
      recipient: null,
      channel: channel.name,
      requestedBy: request.requestedBy,
    },
    request.signal,
  );
  return { channel: channel.name, type: channel.type, destination: notifier.describe(channel), result };
};

/** The paging questions the API answers from the store. */
export class PagingQueries {
  readonly #store: IncidentStore;
  readonly #notifiers: NotifierLookup;
  readonly #ids: IdSource;

  constructor(deps: { store: IncidentStore; notifiers: NotifierLookup; ids: IdSource }) {
    this.#store = deps.store;
    this.#notifiers = deps.notifiers;
    this.#ids = deps.ids;
  }

  async onCall(at: number): Promise<OnCallReport> {
    return onCallReport(await this.#store.paging.get(), at);
  }

  async testChannel(name: string, requestedBy: string | null, now: number): Promise<ChannelTestResult> {
    const directory = await this.#store.paging.get();
    return testChannel(
      { directory, notifiers: this.#notifiers, ids: this.#ids },
      { name, requestedBy, now, signal: AbortSignal.timeout(20_000) },
    );
  }
}
