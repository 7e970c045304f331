/**
 * A statement cut to what tells it apart in one line: the verb and the relation it touches, e.g.
 * `UPDATE inventory …`, `INSERT INTO orders …`, `SELECT … FROM products …`; other statements keep
 * their first four words. ` …` marks words left out. Input is normalized query text; the result
 * is deterministic and at most about 60 characters.
 */
export const shortenStatement = (query: string): string => {
  const words = query
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const first = words[0];
  if (first === undefined) return '';
  const verb = first.toUpperCase();
  /** The relation at `i` (after ONLY), cut at a parenthesis, and the index it ends at. */
  const rel = (i: number): { text: string; end: number } | null => {
    const only = words[i]?.toUpperCase() === 'ONLY';
    const w = words[only ? i + 1 : i];
    if (w === undefined) return null;
    const cut = w.split('(')[0] ?? w;
    return { text: cut.length > 40 ? `${cut.slice(0, 40)}…` : cut, end: only ? i + 1 : i };
  };
  let kept: string[] = words.slice(0, 4);
  let end = Math.min(words.length, 4) - 1;
  let skipped = false;
  const at = (i: number, lead: string[]): void => {
    const r = rel(i);
    if (r === null) return;
    kept = [...lead, r.text];
    end = r.end;
    skipped ||= r.text !== words[r.end];
  };
  if (verb === 'UPDATE') at(1, [first]);
  else if (verb === 'INSERT' || verb === 'DELETE') at(2, words.slice(0, 2));
  else if (verb === 'SELECT') {
    const from = words.findIndex((w) => w.toUpperCase() === 'FROM');
    if (from === 1) at(2, [first, 'FROM']);
    else if (from > 1) {
      at(from + 1, [first, '…', 'FROM']);
      skipped = true;
    }
  }
  const text = kept.join(' ');
  if (end >= words.length - 1 && !skipped) return text.length > 60 ? `${text.slice(0, 59)}…` : text;
  const short = text.length > 58 ? text.slice(0, 58) : text;
  return end >= words.length - 1 ? short : `${short} …`;
};
