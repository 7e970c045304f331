import type { SqlFailure, SqlTags } from '../core/app-signal.js';
import { normalizeQuery } from '../core/query-normalizer.js';
import { formatSqlTags, parseSqlTags } from '../core/sql-comment-tags.js';
import type { CallSiteLocator } from './call-site.js';
import type { Scope } from './request-scope.js';

/** The part of the `pg` module the SDK patches (structural: the SDK does not depend on pg). */
export interface PgModuleLike {
  readonly Client: { readonly prototype: object };
  readonly Pool?: { readonly prototype: object };
}

export interface PgHooks {
  readonly locator: CallSiteLocator;
  readonly scope: () => Scope | undefined;
  readonly tags: (scope: Scope | undefined, callsite: string | null) => SqlTags;
  /** A statement failed with a SQLSTATE. */
  readonly failed: (scope: Scope | undefined, failure: SqlFailure, errorClass: string | null) => void;
  /** A bug of ours, caught before it reached pg or the app. */
  readonly bug: (error: unknown) => void;
}

type QueryFn = (this: unknown, config?: unknown, values?: unknown, callback?: unknown) => unknown;
type Callback = (this: unknown, error: unknown, result?: unknown) => unknown;

/** What a statement was called from: the request or job, and the app's line. */
interface QueryCall {
  readonly scope: Scope | undefined;
  readonly site: string | null;
}

interface Patch {
  readonly target: Record<'query', unknown>;
  readonly original: unknown;
  readonly own: boolean;
  undo?: () => void;
}

/** Marks a prototype we patched, with how to undo it. */
const PATCHED = Symbol.for('hindsight.sdk.pg-patch');
/** Carries the call captured by `Pool#query` to the `Client#query` that runs it later. */
const CALL = Symbol('hindsight.sdk.query-call');
/** Our tags come first and start with a known key: such a statement is not tagged twice. */
const OUR_TAGS = /^\/\*(?:callsite|job|release|route|service)='/;
const SQLSTATE = /^[0-9A-Z]{5}$/;
const NORMALIZED_LIMIT = 512;
const COMMENT_LIMIT = 1024;
const MAX_QUERY_CHARS = 2048;

const isObject = (value: unknown): value is Record<PropertyKey, unknown> =>
  typeof value === 'object' && value !== null;

/** A copy the way pg copies a query config (prototype and every property, symbols too). */
const cloneConfig = (config: object): Record<PropertyKey, unknown> =>
  Object.defineProperties(
    Object.create(Object.getPrototypeOf(config) as object | null) as object,
    Object.getOwnPropertyDescriptors(config),
  ) as Record<PropertyKey, unknown>;

/**
 * Patches `Client.prototype.query` (and `Pool.prototype.query`, which runs its statement on a client
 * later, from another async context) so that each statement:
 *  - carries sqlcommenter tags first (route, release, call site, service, job) — text statements
 *    only; a named prepared statement keeps its text (pg refuses one name with two texts);
 *  - when it fails with a SQLSTATE, is recorded with its normalized text and call site, linked to
 *    the request (or job) it was called from.
 * Every form pg accepts keeps its behaviour: text or config object, callback or promise (the same
 * rejection reaches the app), Submittables (`new Query`, cursors: not tagged, failures recorded).
 * Returns the function that restores the originals.
 */
export const instrumentPgModule = (pg: PgModuleLike, hooks: PgHooks): (() => void) => {
  const normalized = new Map<string, string>();

  const normalize = (text: string): string => {
    const known = normalized.get(text);
    if (known !== undefined) return known;
    const query = normalizeQuery(parseSqlTags(text).sql, { maxLength: MAX_QUERY_CHARS }).replaceAll(
      '\u0000',
      '',
    );
    if (normalized.size >= NORMALIZED_LIMIT) normalized.clear();
    normalized.set(text, query);
    return query;
  };

  const record = (error: unknown, call: QueryCall, text: string | null): void => {
    try {
      const code = isObject(error) ? error.code : undefined;
      if (typeof code !== 'string' || !SQLSTATE.test(code)) return;
      const failure: SqlFailure = {
        sqlstate: code,
        query: text === null ? '' : normalize(text),
        callSite: call.site,
      };
      const ctor = isObject(error) ? (error.constructor as { name?: unknown } | undefined) : undefined;
      hooks.failed(call.scope, failure, typeof ctor?.name === 'string' ? ctor.name : null);
    } catch (bug) {
      hooks.bug(bug);
    }
  };

  const recording = (callback: Callback, call: QueryCall, text: string | null): Callback =>
    function hindsightQueryCallback(this: unknown, error: unknown, result?: unknown): unknown {
      if (error !== null && error !== undefined) record(error, call, text);
      return callback.call(this, error, result);
    };

  const capture = (below: QueryFn): QueryCall => ({
    scope: hooks.scope(),
    site: hooks.locator.locate(below),
  });

  // The same few comments over and over (routes × call sites): formatted once each.
  const comments = new Map<string, string>();
  const tagged = (text: string, call: QueryCall): string => {
    if (OUR_TAGS.test(text)) return text;
    const tags = hooks.tags(call.scope, call.site);
    const key = `${tags.service ?? ''}\n${tags.release ?? ''}\n${tags.callsite ?? ''}\n${tags.route ?? ''}\n${tags.job ?? ''}`;
    let comment = comments.get(key);
    if (comment === undefined) {
      comment = formatSqlTags(tags);
      if (comments.size >= COMMENT_LIMIT) comments.clear();
      comments.set(key, comment);
    }
    // As prependSqlTags writes it: the comment, a space, the statement.
    return comment === '' ? text : `${comment} ${text}`;
  };

  /** The arguments to hand to pg's own `query`, and whether its promise must be watched. */
  interface Prepared {
    readonly args: [unknown, unknown, unknown];
    readonly watch: { readonly call: QueryCall; readonly text: string | null } | null;
  }

  const prepare = (config: unknown, values: unknown, callback: unknown, below: QueryFn): Prepared | null => {
    if (typeof config !== 'string' && !isObject(config)) return null;
    const carried = isObject(config) ? config[CALL] : undefined;
    const call = (carried as QueryCall | undefined) ?? capture(below);
    if (isObject(config) && typeof config.submit === 'function') {
      // A Submittable reports failures through its handleError (callback or 'error' event).
      const handleError = config.handleError;
      if (typeof handleError === 'function') {
        const text = typeof config.text === 'string' ? config.text : null;
        config.handleError = function hindsightHandleError(
          this: unknown,
          error: unknown,
          ...rest: unknown[]
        ): unknown {
          record(error, call, text);
          return (handleError as (...a: unknown[]) => unknown).call(this, error, ...rest);
        };
      }
      return { args: [config, values, callback], watch: null };
    }
    const text = typeof config === 'string' ? config : typeof config.text === 'string' ? config.text : null;
    const named = isObject(config) && config.name !== undefined && config.name !== null && config.name !== '';
    const newText = text === null || named ? text : tagged(text, call);
    if (typeof values === 'function')
      return {
        args: [withText(config, newText), recording(values as Callback, call, text), callback],
        watch: null,
      };
    if (typeof callback === 'function')
      return {
        args: [withText(config, newText), values, recording(callback as Callback, call, text)],
        watch: null,
      };
    if (isObject(config) && typeof config.callback === 'function') {
      const copy = cloneConfig(config);
      if (newText !== null) copy.text = newText;
      copy.callback = recording(config.callback as Callback, call, text);
      return { args: [copy, values, callback], watch: null };
    }
    return { args: [withText(config, newText), values, callback], watch: { call, text } };
  };

  const withText = (config: string | Record<PropertyKey, unknown>, text: string | null): unknown => {
    if (typeof config === 'string') return text ?? config;
    if (text === null || text === config.text) return config;
    const copy = cloneConfig(config);
    copy.text = text;
    return copy;
  };

  const patches: Patch[] = [];

  const patch = (proto: object, make: (original: QueryFn) => QueryFn): void => {
    const target = proto as Record<PropertyKey, unknown> & Record<'query', unknown>;
    const previous = target[PATCHED] as (() => void) | undefined;
    previous?.(); // instrumented before (another createHindsight): ours replaces it
    const original = target.query;
    if (typeof original !== 'function') return;
    const own = Object.prototype.hasOwnProperty.call(target, 'query');
    target.query = make(original as QueryFn);
    const entry: Patch = { target, original, own };
    entry.undo = () => {
      restore(entry);
    };
    target[PATCHED] = entry.undo;
    patches.push(entry);
  };

  const restore = (entry: Patch): void => {
    const target = entry.target as Record<PropertyKey, unknown>;
    if (entry.own) target.query = entry.original;
    else delete target.query;
    Reflect.deleteProperty(target, PATCHED);
  };

  patch(
    pg.Client.prototype,
    (original) =>
      function hindsightClientQuery(
        this: unknown,
        config?: unknown,
        values?: unknown,
        callback?: unknown,
      ): unknown {
        let prepared: Prepared | null = null;
        try {
          prepared = prepare(config, values, callback, hindsightClientQuery);
        } catch (bug) {
          hooks.bug(bug);
        }
        if (prepared === null) return original.call(this, config, values, callback);
        const result = original.call(this, ...prepared.args);
        const watch = prepared.watch;
        if (watch === null || !isObject(result) || typeof result.catch !== 'function') return result;
        // The app gets a promise that rejects with the same error (so an unhandled one stays unhandled).
        return (result as unknown as Promise<unknown>).catch((error: unknown) => {
          record(error, watch.call, watch.text);
          throw error;
        });
      },
  );

  if (pg.Pool !== undefined) {
    patch(
      pg.Pool.prototype,
      (original) =>
        function hindsightPoolQuery(
          this: unknown,
          config?: unknown,
          values?: unknown,
          callback?: unknown,
        ): unknown {
          let marked = config;
          try {
            // The pool runs the statement on a client later (maybe from another request's release):
            // the call is captured here, where the app called, and carried along.
            if (typeof config === 'string') marked = { text: config, [CALL]: capture(hindsightPoolQuery) };
            else if (isObject(config) && typeof config.submit !== 'function' && config[CALL] === undefined) {
              const copy = cloneConfig(config);
              copy[CALL] = capture(hindsightPoolQuery);
              marked = copy;
            }
          } catch (bug) {
            hooks.bug(bug);
            marked = config;
          }
          return original.call(this, marked, values, callback);
        },
    );
  }

  return () => {
    for (const entry of patches.splice(0).reverse()) {
      // Only while our patch is the one in place (a later createHindsight may have replaced it).
      if ((entry.target as Record<PropertyKey, unknown>)[PATCHED] === entry.undo) restore(entry);
    }
  };
};
