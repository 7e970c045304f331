import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHindsight } from '../../../src/sdk/index.js';
import type { HindsightSdkError } from '../../../src/sdk/index.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';

/** The `query` a prototype has now (patched or not). */
const queryOf = (proto: object): unknown => Reflect.get(proto, 'query');

/** A stand-in for pg's Client: records what it was asked to run. */
const stubPg = () => {
  const seen: unknown[] = [];
  class Client {
    query(config: unknown, values?: unknown, callback?: unknown): unknown {
      seen.push(config);
      if (typeof callback === 'function') (callback as (e: null, r: string) => void)(null, 'rows');
      return typeof callback === 'function' ? undefined : Promise.resolve('rows');
    }
  }
  const original = queryOf(Client.prototype);
  return { module: { Client }, seen, original };
};

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

describe('the SDK never throws into the app', () => {
  it('a routeOf that throws: the app answers as usual, one SDK_INTERNAL, statements run untagged', async () => {
    const receiver = await startEventReceiver();
    const problems: HindsightSdkError[] = [];
    const hindsight = createHindsight({
      service: 'shop',
      endpoint: receiver.url,
      token: 't',
      onError: (p) => problems.push(p),
    });
    const pg = stubPg();
    hindsight.instrumentPg(pg.module);
    const client = new pg.module.Client();
    const server: Server = createServer(
      hindsight.http(
        async (_req: IncomingMessage, res: ServerResponse) => {
          const rows = await client.query('SELECT 1');
          res.end(String(rows));
        },
        {
          routeOf: () => {
            throw new Error('broken routeOf');
          },
        },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () => receiver.close(),
      () => new Promise((resolve) => server.close(resolve)),
      () => hindsight.close(),
    );
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/x`);
      expect(await res.text()).toBe('rows');
    }
    expect(pg.seen).toEqual(['SELECT 1', 'SELECT 1', 'SELECT 1']);
    expect(problems.map((p) => p.code)).toEqual(['SDK_INTERNAL']);
    expect(problems[0]!.message).toContain('broken routeOf');
  });

  it('an onError that throws is swallowed; identify outside a request does nothing', async () => {
    const receiver = await startEventReceiver();
    const port = Number(new URL(receiver.url).port);
    await receiver.close();
    let calls = 0;
    const hindsight = createHindsight({
      service: 'shop',
      endpoint: `http://127.0.0.1:${port}`,
      token: 't',
      onError: () => {
        calls++;
        throw new Error('the app’s onError is broken');
      },
    });
    const server: Server = createServer(
      hindsight.http((_req: IncomingMessage, res: ServerResponse) => res.end('ok')),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () => new Promise((resolve) => server.close(resolve)),
      () => hindsight.close(),
    );
    expect(await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).text()).toBe(
      'ok',
    );
    hindsight.identify('nobody');
    await expect(hindsight.flush()).resolves.toBeUndefined();
    expect(calls).toBe(1);
    expect(hindsight.stats()).toMatchObject({ failedSends: 1, buffered: 1 });
  });

  it('pg: a second createHindsight replaces the first one’s patch; close puts pg back as it was', async () => {
    const pg = stubPg();
    const first = createHindsight({
      service: 'a',
      endpoint: 'http://127.0.0.1:9',
      token: 't',
      onError: () => undefined,
    });
    const second = createHindsight({
      service: 'b',
      endpoint: 'http://127.0.0.1:9',
      token: 't',
      onError: () => undefined,
    });
    first.instrumentPg(pg.module);
    second.instrumentPg(pg.module);
    const client = new pg.module.Client();
    await client.query('SELECT 1');
    expect(pg.seen[0]).toMatch(/^\/\*callsite='[^']+',service='b'\*\/ SELECT 1$/);
    await first.close(); // not its patch any more: leaves the second one alone
    expect(queryOf(pg.module.Client.prototype)).not.toBe(pg.original);
    await second.close();
    expect(queryOf(pg.module.Client.prototype)).toBe(pg.original);
  });

  it('bad options fail at startup with a message that says what to pass', () => {
    expect(() => createHindsight({ service: '', endpoint: 'http://x', token: 't' })).toThrow(
      /service must name this app/,
    );
    expect(() => createHindsight({ service: 'shop', endpoint: 'hindsight:8080', token: 't' })).toThrow(
      /endpoint must be the Hindsight server's URL/,
    );
    expect(() => createHindsight({ service: 'shop', endpoint: 'http://x', token: '' })).toThrow(
      /token is required.*role ingest/,
    );
    expect(() =>
      createHindsight({ service: 'shop', endpoint: 'http://x', token: 't', maxBuffer: 0 }),
    ).toThrow(/maxBuffer must be a positive number/);
  });
});
