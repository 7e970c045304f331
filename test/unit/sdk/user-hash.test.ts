import { describe, expect, it } from 'vitest';
import { hashUserId } from '../../../src/api/integrations/otlp/otlp-span-converter.js';
import { createUserHasher } from '../../../src/sdk/user-hash.js';

describe('user ids are hashed before they leave the app', () => {
  it('replicas of a service agree (key derived from the service); services and salts differ', () => {
    const shop = createUserHasher('shop');
    expect(shop('alice')).toMatch(/^[0-9a-f]{32}$/);
    expect(createUserHasher('shop')('alice')).toBe(shop('alice'));
    expect(createUserHasher('billing')('alice')).not.toBe(shop('alice'));
    expect(createUserHasher('shop', 'our-own-salt')('alice')).not.toBe(shop('alice'));
    expect(shop('bob')).not.toBe(shop('alice'));
  });

  it('the same scheme as the OTLP path hashes enduser.id with, so a user counts once whichever way the app reports', () => {
    for (const id of ['alice', '42', 'ü-ser@example.com'])
      expect(createUserHasher('shop')(id)).toBe(hashUserId('shop', id));
  });
});
