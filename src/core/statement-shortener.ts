/**
 * A statement cut to what tells it apart in one line: the verb and the relation it touches, e.g.
 * `UPDATE inventory …`, `INSERT INTO orders …`, `SELECT … FROM products …`. Input is normalized
 * query text; the result is deterministic and at most about 60 characters.
 */
export const shortenStatement = (query: string): string => {
  const words = query.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return '';
  const verb = (words[0] ?? '').toUpperCase();
  const rel = (i: number): string | null => {
    let w = words[i];
    if (w !== undefined && w.toUpperCase() === 'ONLY') w = words[i + 1];
    if (w === undefined) return null;
    const cut = w.split('(')[0] ?? w;
    return cut.length > 40 ? `${cut.slice(0, 40)}…` : cut;
  };
  let kept: string[] | null = null;
  if (verb === 'UPDATE') kept = [words[0] ?? '', rel(1) ?? ''];
  else if ((verb === 'INSERT' || verb === 'DELETE') && words.length > 2) kept = [words[0] ?? '', words[1] ?? '', rel(2) ?? ''];
  else if (verb === 'SELECT') {
    const from = words.findIndex((w) => w.toUpperCase() === 'FROM');
    if (from > 0 && words.length > from + 1) kept = from === 1 ? [words[0] ?? '', 'FROM', rel(from + 1) ?? ''] : [words[0] ?? '', '…', 'FROM', rel(from + 1) ?? ''];
  }
  kept ??= words.slice(0, 4);
  const text = kept.filter((w) => w !== '').join(' ');
  const whole = words.join(' ');
  if (text === whole) return whole.length > 60 ? `${whole.slice(0, 59)}…` : whole;
  return `${text.length > 58 ? text.slice(0, 58) : text} …`;
};
