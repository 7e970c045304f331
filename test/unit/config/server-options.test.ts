import { describe, expect, it } from 'vitest';
import {
  parseAgentOptions,
  parseServeOptions,
  parseServerClientOptions,
} from '../../../src/config/server-options.js';
import { HindsightError } from '../../../src/core/errors.js';

describe('serve options', () => {
  it('takes flags first, then HINDSIGHT_* variables, then the file, then defaults', () => {
    const file = { server: { host: '0.0.0.0', port: 9000 } } as unknown as Parameters<
      typeof parseServeOptions
    >[1];
    expect(parseServeOptions({}, null, {})).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      store: { kind: 'embedded' },
      adminToken: null,
    });
    expect(parseServeOptions({}, file, {})).toMatchObject({ host: '0.0.0.0', port: 9000 });
    expect(parseServeOptions({}, file, { HINDSIGHT_PORT: '7000' })).toMatchObject({
      host: '0.0.0.0',
      port: 7000,
    });
    expect(
      parseServeOptions({ port: '6000', store: 'postgres://h@team-db/hindsight' }, file, {
        HINDSIGHT_PORT: '7000',
      }),
    ).toMatchObject({
      port: 6000,
      store: { kind: 'postgres', url: 'postgres://h@team-db/hindsight' },
    });
    expect(parseServeOptions({ dataDir: '/tmp/hs' }, null, {}).store).toEqual({
      kind: 'embedded',
      dataDir: '/tmp/hs',
    });
  });

  it('takes the public URL for the links in pages from --public-url, HINDSIGHT_PUBLIC_URL or the file, and refuses one that is not http(s)', () => {
    expect(parseServeOptions({}, null, {}).publicUrl).toBeUndefined();
    expect(
      parseServeOptions({}, null, { HINDSIGHT_PUBLIC_URL: 'https://hindsight.example.com/' }).publicUrl,
    ).toBe('https://hindsight.example.com');
    expect(
      parseServeOptions({ publicUrl: 'https://ops.example.com/hindsight' }, null, {
        HINDSIGHT_PUBLIC_URL: 'https://x.example.com',
      }).publicUrl,
    ).toBe('https://ops.example.com/hindsight');
    expect(() => parseServeOptions({ publicUrl: 'hindsight.example.com' }, null, {})).toThrow(
      /--public-url \/ HINDSIGHT_PUBLIC_URL: must be an http\(s\):\/\/ URL/,
    );
  });

  it('reports every bad option at once, naming the flag and the variable', () => {
    let caught: unknown;
    try {
      parseServeOptions({ port: 'eighty', store: 'mysql://x' }, null, { HINDSIGHT_ADMIN_TOKEN: '   ' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HindsightError);
    const message = (caught as HindsightError).message;
    expect(message).toContain('--port / HINDSIGHT_PORT: must be a port number');
    expect(message).toContain('--store / HINDSIGHT_STORE: must be a postgres://');
    expect(message).toContain('HINDSIGHT_ADMIN_TOKEN: must not be blank');
  });
});

describe('client and agent options', () => {
  it('defaults the server, requires a token and says where to get one', () => {
    expect(parseServerClientOptions({}, { HINDSIGHT_TOKEN: 't0k' })).toEqual({
      server: 'http://127.0.0.1:8080',
      token: 't0k',
    });
    expect(
      parseServerClientOptions(
        { server: 'https://hs.example/', token: 'x' },
        { HINDSIGHT_SERVER: 'http://other' },
      ).server,
    ).toBe('https://hs.example');
    expect(() => parseServerClientOptions({}, {})).toThrow(/pass --token or set HINDSIGHT_TOKEN/);
  });

  it('names the agent by --name, HINDSIGHT_AGENT_NAME or the host name', () => {
    expect(parseAgentOptions({ token: 'x', name: 'db-host-1' }, {}).name).toBe('db-host-1');
    expect(parseAgentOptions({ token: 'x' }, { HINDSIGHT_AGENT_NAME: 'edge' }).name).toBe('edge');
    expect(parseAgentOptions({ token: 'x' }, {}).name.length).toBeGreaterThan(0);
    expect(() => parseAgentOptions({ token: 'x', name: 'has space' }, {})).toThrow(/--name/);
  });
});
