import { describe, expect, it } from 'vitest';
import { parseDeployOptions } from '../../../src/config/deploy-options.js';

const env = { HINDSIGHT_SERVER: 'http://h:8080', HINDSIGHT_TOKEN: 't0k' };

describe('parseDeployOptions', () => {
  it('takes the service from --service or HINDSIGHT_SERVICE, the commit from --commit or the CI', () => {
    expect(parseDeployOptions(' v2 ', { service: 'shop' }, env)).toEqual({
      server: 'http://h:8080',
      token: 't0k',
      version: 'v2',
      service: 'shop',
      commit: null,
    });
    expect(
      parseDeployOptions('v2', {}, { ...env, HINDSIGHT_SERVICE: 'shop', GITHUB_SHA: 'abc123' }),
    ).toMatchObject({ service: 'shop', commit: 'abc123' });
    expect(
      parseDeployOptions('v2', { commit: 'def' }, { ...env, HINDSIGHT_SERVICE: 'shop', CI_COMMIT_SHA: 'abc' })
        .commit,
    ).toBe('def');
    expect(parseDeployOptions('v2', {}, { ...env, HINDSIGHT_SERVICE: 'shop', GIT_COMMIT: 'j1' }).commit).toBe(
      'j1',
    );
  });

  it('reports every problem at once', () => {
    expect(() => parseDeployOptions('', { service: 'shop db' }, {})).toThrow(
      /invalid options:\n {2}- no API token.*\n {2}- --service must be 1–63 letters.*\n {2}- VERSION must be 1–100 characters/,
    );
    expect(() => parseDeployOptions('v2', {}, env)).toThrow(
      'no service: pass --service NAME or set HINDSIGHT_SERVICE',
    );
  });
});
