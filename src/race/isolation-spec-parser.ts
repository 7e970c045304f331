import { userError } from '../core/errors.js';
import { DEFAULT_ALLOW } from './race-spec.js';
import type { Blocker, Permutation, PermutationEntry, RaceSpec, SessionSpec, StepSpec } from './race-spec.js';

/**
 * Parser for PostgreSQL's isolation tester `.spec` files (src/test/isolation/README):
 *   setup { SQL } ...   teardown { SQL }
 *   session name { setup { } step name { SQL } ... teardown { } } ...
 *   permutation step step(blocker, ...) ...
 * Names may be "quoted" or bare; `#` starts a comment outside SQL blocks; blockers are a step
 * name, `*`, `step notices N` (PostgreSQL 14+) or `notices N` (this step's own session).
 */
type Token =
  | { readonly kind: 'word'; readonly text: string; readonly line: number }
  | { readonly kind: 'sql'; readonly text: string; readonly shown: string; readonly line: number }
  | { readonly kind: 'punct'; readonly text: '(' | ')' | ',' | '*'; readonly line: number }
  | { readonly kind: 'number'; readonly text: string; readonly line: number };

export function tokenizeIsolationSpec(text: string, file = 'spec'): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw userError('RACE_SPEC_SYNTAX', `${file}:${line}: ${message}`);
  };
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{') {
      const start = line;
      // Quotes and nested braces are allowed here; the tester ends a block at its first `}`,
      // which is what a block our reading cannot close (an apostrophe in a comment) means.
      let end = sqlBlockEnd(text, i + 1);
      if (end < 0) end = text.indexOf('}', i + 1);
      if (end < 0) fail('a `{` SQL block is never closed with `}`');
      const body = text.slice(i + 1, end);
      line += body.split('\n').length - 1;
      // The tester trims only spaces and tabs next to the braces (not newlines), and prints that.
      tokens.push({
        kind: 'sql',
        text: body.trim(),
        shown: body.replace(/^[ \t\r\f]+|[ \t\r\f]+$/g, ''),
        line: start,
      });
      i = end + 1;
    } else if (c === '"') {
      // As in SQL, "" inside a quoted name is one quote.
      let end = i + 1;
      let name = '';
      for (;;) {
        const close = text.indexOf('"', end);
        if (close < 0 || text.slice(end, close).includes('\n')) return fail('a quoted name is never closed');
        name += text.slice(end, close);
        if (text[close + 1] !== '"') {
          end = close;
          break;
        }
        name += '"';
        end = close + 2;
      }
      tokens.push({ kind: 'word', text: name, line });
      i = end + 1;
    } else if (c === '(' || c === ')' || c === ',' || c === '*') {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(text.slice(i));
      tokens.push({ kind: 'number', text: m?.[0] ?? c, line });
      i += m?.[0].length ?? 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      const word = m?.[0] ?? c;
      tokens.push({ kind: 'word', text: word, line });
      i += word.length;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  return tokens;
}

/** Index of the `}` closing a block opened just before `from`, skipping quoted strings. */
function sqlBlockEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return -1;
      i = close;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_0-9]*\$/.exec(text.slice(i))?.[0];
      if (tag) {
        const close = text.indexOf(tag, i + tag.length);
        if (close < 0) return -1;
        i = close + tag.length - 1;
      }
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

export function parseIsolationSpec(text: string, name = 'spec'): RaceSpec {
  const tokens = tokenizeIsolationSpec(text, name);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (message: string): never => {
    const at = peek();
    throw userError('RACE_SPEC_SYNTAX', `${name}:${at ? at.line : 'end'}: ${message}`);
  };
  const isWord = (word: string): boolean => {
    const t = peek();
    return t?.kind === 'word' && t.text.toLowerCase() === word;
  };
  const block = (what: string): { text: string; shown: string } => {
    const t = peek();
    if (t?.kind !== 'sql') return fail(`expected a { SQL } block after ${what}`);
    pos++;
    return t;
  };
  const sql = (what: string): string => block(what).text;
  const ident = (what: string): string => {
    const t = peek();
    if (t?.kind !== 'word') return fail(`expected the ${what} name`);
    pos++;
    return t.text;
  };

  const setup: string[] = [];
  const teardown: string[] = [];
  const sessions: SessionSpec[] = [];
  const permutations: Permutation[] = [];
  while (isWord('setup')) {
    pos++;
    setup.push(sql('setup'));
  }
  if (isWord('teardown')) {
    pos++;
    teardown.push(sql('teardown'));
  }
  while (isWord('session')) {
    pos++;
    const sessionName = ident('session');
    const sessionSetup: string[] = [];
    const sessionTeardown: string[] = [];
    const steps: StepSpec[] = [];
    // The session body may be braced (current grammar) or not (older specs).
    const braced = peek()?.kind === 'sql';
    const body = braced ? tokenizeIsolationSpec(sql('session'), name) : undefined;
    const restore = { tokens: tokens.slice(), pos };
    if (body) {
      tokens.splice(0, tokens.length, ...body);
      pos = 0;
    }
    if (isWord('setup')) {
      pos++;
      sessionSetup.push(sql('session setup'));
    }
    while (isWord('step')) {
      pos++;
      const stepName = ident('step');
      const { text, shown } = block(`step ${stepName}`);
      steps.push({ name: stepName, sql: text, ...(shown !== text ? { shown } : {}) });
      if (isWord('timeout')) pos += 2; // `TIMEOUT seconds`: our scheduler needs no timeout hint.
    }
    if (isWord('teardown')) {
      pos++;
      sessionTeardown.push(sql('session teardown'));
    }
    if (body) {
      if (peek()) fail(`unexpected ${String(peek()?.text)} in session ${sessionName}`);
      tokens.splice(0, tokens.length, ...restore.tokens);
      pos = restore.pos;
    }
    if (steps.length === 0) fail(`session ${sessionName} has no step`);
    sessions.push({ name: sessionName, setup: sessionSetup, teardown: sessionTeardown, steps });
  }
  if (sessions.length === 0) fail('expected at least one `session`');
  while (isWord('permutation')) {
    pos++;
    const entries: PermutationEntry[] = [];
    while (peek()?.kind === 'word' && !isWord('permutation')) {
      const step = ident('step');
      entries.push({ step, blockers: parseBlockers(step) });
    }
    if (entries.length === 0) fail('a permutation lists no step');
    permutations.push(entries);
  }
  if (peek()) fail(`unexpected ${String(peek()?.text)}`);

  const names = new Set<string>();
  for (const step of sessions.flatMap((s) => s.steps)) {
    if (names.has(step.name))
      throw userError(
        'RACE_SPEC_SYNTAX',
        `${name}: step name ${step.name} is used twice; step names must be unique`,
      );
    names.add(step.name);
  }
  for (const entry of permutations.flat()) {
    const refs = [entry.step, ...entry.blockers.flatMap((b) => (b.kind === 'any' ? [] : [b.step]))];
    for (const ref of refs) {
      if (!names.has(ref))
        throw userError('RACE_SPEC_SYNTAX', `${name}: permutation names an unknown step ${ref}`);
    }
  }
  return {
    name,
    format: 'isolation',
    setup,
    teardown,
    sessions,
    permutations,
    invariants: [],
    allow: DEFAULT_ALLOW,
    overlap: false,
  };

  /** `( blocker, … )` where a blocker is `*`, `step`, `step notices N` or (ours) `notices N`. */
  function parseBlockers(own: string): Blocker[] {
    const t = peek();
    if (t?.kind !== 'punct' || t.text !== '(') return [];
    pos++;
    const blockers: Blocker[] = [];
    for (;;) {
      const b = peek();
      if (b?.kind === 'punct' && b.text === '*') {
        pos++;
        blockers.push({ kind: 'any' });
      } else if (
        b?.kind === 'word' &&
        b.text.toLowerCase() === 'notices' &&
        tokens[pos + 1]?.kind === 'number'
      ) {
        blockers.push({ kind: 'notices', step: own, count: noticeCount(tokens[pos + 1]?.text) });
        pos += 2;
      } else {
        const step = ident('blocker step');
        if (isWord('notices')) {
          pos++;
          const n = peek();
          if (n?.kind !== 'number') fail(`expected a number after \`${step} notices\``);
          pos++;
          blockers.push({ kind: 'notices', step, count: noticeCount(n?.text) });
        } else blockers.push({ kind: 'step', step });
      }
      const sep = peek();
      pos++;
      if (sep?.kind === 'punct' && sep.text === ')') return blockers;
      if (sep?.kind !== 'punct' || sep.text !== ',') fail('expected `,` or `)` in a step annotation');
    }
  }

  function noticeCount(text: string | undefined): number {
    const n = Number(text);
    return Number.isInteger(n) ? n : fail(`a notice count is a whole number, not ${String(text)}`);
  }
}
