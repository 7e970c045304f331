import { createHash, randomBytes } from 'node:crypto';
import type { ApiToken, Role } from '../core/catalog.js';
import { HindsightError, userError } from '../core/errors.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { Clock, IdSource } from '../core/ports.js';

/** SHA-256 (hex) of a secret: how API tokens and integration secrets are kept (never in the clear). */
export const hashSecret = (secret: string): string =>
  createHash('sha256').update(secret, 'utf8').digest('hex');

/** A fresh token secret: `hs_` + 32 random bytes, base64url (256 bits: no slow hash needed). */
export const randomTokenSecret = (): string => `hs_${randomBytes(32).toString('base64url')}`;

/** A token as it is shown: never its secret or hash. */
export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: number;
}

export interface CreatedToken {
  readonly token: TokenView;
  /** Shown once, at creation; only its hash is kept. */
  readonly secret: string;
}

const ROLE_RANK: Readonly<Record<Exclude<Role, 'ingest'>, number>> = { viewer: 0, responder: 1, admin: 2 };

/**
 * Does `role` allow what `required` allows? admin ⊇ responder ⊇ viewer; `ingest` routes take an
 * ingest, responder or admin token, and an ingest token may call nothing else.
 */
export const roleAllows = (role: Role, required: Role): boolean => {
  if (required === 'ingest') return role !== 'viewer';
  if (role === 'ingest') return false;
  return ROLE_RANK[role] >= ROLE_RANK[required];
};

const view = (token: ApiToken): TokenView => ({
  id: token.id,
  name: token.name,
  role: token.role,
  createdAt: token.createdAt,
});

/**
 * A secret a person chose (configuration, `HINDSIGHT_ADMIN_TOKEN`) must not be empty — an unset
 * `${VAR}` interpolates to "" and would otherwise let anyone in. Length is the chooser's call
 * (recorded Alertmanager setups use short ones); the docs recommend `openssl rand -base64 32`.
 */
export const checkChosenSecret = (secret: string, what: string): void => {
  if (secret.trim().length === 0) {
    throw userError(
      'SECRET_EMPTY',
      `${what} is empty; set it (e.g. to the output of \`openssl rand -base64 32\`) or remove the entry`,
    );
  }
};

const BOOTSTRAP_LOCK = 'tokens:bootstrap';

/**
 * API tokens: bearer secrets with a role (viewer reads; responder changes incidents, adds notes,
 * pushes findings; admin manages services, targets, rules and tokens). Only SHA-256 hashes are
 * stored; a generated secret is returned once, at creation.
 */
export class TokenService {
  readonly #store: IncidentStore;
  readonly #clock: Clock;
  readonly #ids: IdSource;
  readonly #newSecret: () => string;

  constructor(deps: { store: IncidentStore; clock: Clock; ids: IdSource; newSecret?: () => string }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#newSecret = deps.newSecret ?? randomTokenSecret;
  }

  /** A new token with a generated secret, returned once. */
  async create(input: { readonly name: string; readonly role: Role }): Promise<CreatedToken> {
    const secret = this.#newSecret();
    const token = await this.#insert(this.#store, input.name, input.role, secret);
    return { token: view(token), secret };
  }

  /**
   * Makes sure a token with this chosen secret exists with this name and role (configuration's
   * `tokens:` at start; idempotent, so every start and every replica may call it).
   */
  async ensure(input: {
    readonly name: string;
    readonly role: Role;
    readonly secret: string;
  }): Promise<TokenView> {
    checkChosenSecret(input.secret, `the secret of token "${input.name}"`);
    return this.#store.transact(BOOTSTRAP_LOCK, async (tx) => {
      const existing = await tx.tokens.findBySecretHash(hashSecret(input.secret));
      if (existing !== null && existing.name === input.name && existing.role === input.role)
        return view(existing);
      if (existing !== null) await tx.tokens.delete(existing.id);
      return view(await this.#insert(tx, input.name, input.role, input.secret));
    });
  }

  /** The token a bearer secret belongs to, or null for an unknown one. */
  async verify(secret: string): Promise<TokenView | null> {
    if (secret.length === 0) return null;
    const token = await this.#store.tokens.findBySecretHash(hashSecret(secret));
    return token === null ? null : view(token);
  }

  /** Oldest first, without secrets. */
  async list(): Promise<TokenView[]> {
    return (await this.#store.tokens.list()).map(view);
  }

  async delete(id: string): Promise<void> {
    const deleted = await this.#store.tokens.delete(id);
    if (!deleted) {
      throw new HindsightError({
        code: 'TOKEN_NOT_FOUND',
        kind: 'user',
        message: `no token with id "${id}"; list them with GET /api/v1/tokens`,
      });
    }
  }

  /**
   * The first admin: with `HINDSIGHT_ADMIN_TOKEN` set, a token `admin` with that secret is ensured
   * (returns null); without it, the first start (no token at all) generates one and returns its
   * secret, to be printed once. Later starts return null. Serialized across replicas.
   */
  async ensureBootstrapAdmin(secretFromEnvOrNull: string | null): Promise<string | null> {
    if (secretFromEnvOrNull !== null) {
      await this.ensure({ name: 'admin', role: 'admin', secret: secretFromEnvOrNull });
      return null;
    }
    return this.#store.transact(BOOTSTRAP_LOCK, async (tx) => {
      if ((await tx.tokens.count()) > 0) return null;
      const secret = this.#newSecret();
      await this.#insert(tx, 'admin', 'admin', secret);
      return secret;
    });
  }

  async #insert(
    repos: Pick<IncidentStore, 'tokens'>,
    name: string,
    role: Role,
    secret: string,
  ): Promise<ApiToken> {
    const token: ApiToken = {
      id: this.#ids.next('tok'),
      name,
      role,
      secretHash: hashSecret(secret),
      createdAt: this.#clock.now(),
    };
    await repos.tokens.insert(token);
    return token;
  }
}
