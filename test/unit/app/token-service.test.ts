import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSecret, roleAllows, TokenService } from '../../../src/app/token-service.js';
import { isHindsightError } from '../../../src/core/errors.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CountingIds } from '../../support/sample-builder.js';

const setup = () => {
  const store = new MemoryStore();
  const clock = new FakeClock();
  return { store, clock, tokens: new TokenService({ store, clock, ids: new CountingIds() }) };
};

describe('TokenService', () => {
  it('creates a random secret, stores only its SHA-256, and verifies it', async () => {
    const { store, tokens, clock } = setup();
    const { token, secret } = await tokens.create({ name: 'ci', role: 'responder' });
    expect(secret).toMatch(/^hs_[A-Za-z0-9_-]{43}$/);
    expect(token).toEqual({ id: 'tok-1', name: 'ci', role: 'responder', createdAt: clock.now() });
    const [stored] = await store.tokens.list();
    expect(stored!.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(await store.tokens.list())).not.toContain(secret);
    expect(await tokens.verify(secret)).toEqual(token);
    expect(await tokens.verify(`${secret}x`)).toBeNull();
    expect(await tokens.verify('')).toBeNull();
    const other = await tokens.create({ name: 'ci2', role: 'viewer' });
    expect(other.secret).not.toBe(secret);
  });

  it('lists without secrets and deletes; deleting an unknown id is TOKEN_NOT_FOUND', async () => {
    const { tokens } = setup();
    const a = await tokens.create({ name: 'a', role: 'viewer' });
    await tokens.create({ name: 'b', role: 'admin' });
    expect((await tokens.list()).map((t) => Object.keys(t).sort())).toEqual([
      ['createdAt', 'id', 'name', 'role'],
      ['createdAt', 'id', 'name', 'role'],
    ]);
    await tokens.delete(a.token.id);
    expect(await tokens.verify(a.secret)).toBeNull();
    await expect(tokens.delete(a.token.id)).rejects.toSatisfy(
      (e) => isHindsightError(e) && e.code === 'TOKEN_NOT_FOUND',
    );
  });

  it('bootstraps one admin on the first start only, and returns its secret once', async () => {
    const { tokens } = setup();
    const [first, second] = await Promise.all([
      tokens.ensureBootstrapAdmin(null),
      tokens.ensureBootstrapAdmin(null),
    ]);
    const generated = [first, second].filter((s) => s !== null);
    expect(generated).toHaveLength(1);
    expect((await tokens.verify(generated[0]!))?.role).toBe('admin');
    expect(await tokens.ensureBootstrapAdmin(null)).toBeNull();
    expect(await tokens.list()).toHaveLength(1);
  });

  it('with HINDSIGHT_ADMIN_TOKEN ensures that admin idempotently and generates nothing', async () => {
    const { tokens } = setup();
    const secret = 'from-the-environment-0123456789';
    expect(await tokens.ensureBootstrapAdmin(secret)).toBeNull();
    expect(await tokens.ensureBootstrapAdmin(secret)).toBeNull();
    expect((await tokens.list()).map((t) => [t.name, t.role])).toEqual([['admin', 'admin']]);
    expect((await tokens.verify(secret))?.role).toBe('admin');
    await expect(tokens.ensureBootstrapAdmin('   ')).rejects.toSatisfy(
      (e) => isHindsightError(e) && e.code === 'SECRET_EMPTY' && e.kind === 'user',
    );
  });

  it('ensures configured tokens idempotently, following a changed role', async () => {
    const { tokens } = setup();
    const secret = 'ci-secret-0123456789abcdef';
    await tokens.ensure({ name: 'ci', role: 'viewer', secret });
    await tokens.ensure({ name: 'ci', role: 'viewer', secret });
    expect(await tokens.list()).toHaveLength(1);
    await tokens.ensure({ name: 'ci', role: 'admin', secret });
    expect((await tokens.list()).map((t) => [t.name, t.role])).toEqual([['ci', 'admin']]);
  });

  it('lets ingest routes take ingest, responder and admin tokens, and an ingest token nothing else', () => {
    expect(
      ['ingest', 'responder', 'admin', 'viewer'].map((r) => roleAllows(r as 'ingest', 'ingest')),
    ).toEqual([true, true, true, false]);
    expect(
      ['viewer', 'responder', 'admin'].map((required) => roleAllows('ingest', required as 'viewer')),
    ).toEqual([false, false, false]);
  });

  it('orders roles viewer < responder < admin', () => {
    expect(roleAllows('admin', 'responder')).toBe(true);
    expect(roleAllows('responder', 'responder')).toBe(true);
    expect(roleAllows('responder', 'admin')).toBe(false);
    expect(roleAllows('viewer', 'responder')).toBe(false);
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
