import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../../src/core/url-redaction.js';

describe('redactUrl (the one redactor)', () => {
  it.each([
    ['postgres://monitor:s3cret@db.internal:5432/shop', 'postgres://monitor:***@db.internal:5432/shop'],
    [
      'postgresql://u:p%40ss@/shop?host=/var/run/postgresql',
      'postgresql://u:***@/shop?host=/var/run/postgresql',
    ],
    [
      'postgres://db/shop?user=u&password=s3cret&sslmode=require',
      'postgres://db/shop?user=u&password=***&sslmode=require',
    ],
    ['postgres://u@db/shop?sslpassword=k3y', 'postgres://u@db/shop?sslpassword=***'],
    ['postgres://u@db/shop', 'postgres://u@db/shop'],
  ])('%s → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    expect(redactUrl(url)).not.toMatch(/s3cret|k3y|p%40ss/);
  });
});
