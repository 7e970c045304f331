/** A guess at the tables and rows that simple statements touch, to make a generated spec runnable. */
export interface InferredSetup {
  readonly sql: string;
  /** False when some statement was not understood: the setup needs a person. */
  readonly complete: boolean;
}

interface TableGuess {
  key: string | undefined;
  readonly columns: Map<string, string>;
  readonly rows: Map<string, Map<string, string>>;
}

const IDENT = String.raw`([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)`;
const UPDATE = new RegExp(
  String.raw`^\s*update\s+(?:only\s+)?${IDENT}\s+set\s+(.+?)\s+where\s+(.+?)\s*;?\s*$`,
  'is',
);
const DELETE = new RegExp(
  String.raw`^\s*delete\s+from\s+(?:only\s+)?${IDENT}\s+where\s+(.+?)\s*;?\s*$`,
  'is',
);
const SELECT_FOR = new RegExp(
  String.raw`^\s*select\s+.+?\s+from\s+${IDENT}\s+where\s+(.+?)\s+for\s+(?:update|share|no\s+key\s+update|key\s+share)\b`,
  'is',
);
const INSERT = new RegExp(
  String.raw`^\s*insert\s+into\s+${IDENT}\s*\(([^)]*)\)\s*values\s*\(([^)]*)\)(.*)$`,
  'is',
);
const LITERAL = String.raw`('(?:[^']|'')*'|-?\d+(?:\.\d+)?)`;
const EQUALITY = new RegExp(String.raw`\b([A-Za-z_]\w*)\s*=\s*${LITERAL}`, 'g');

const typeOf = (literal: string): string =>
  literal.startsWith("'") ? 'text' : literal.includes('.') ? 'numeric' : 'bigint';

export function inferSetup(statements: readonly string[]): InferredSetup {
  const tables = new Map<string, TableGuess>();
  let complete = true;
  const table = (name: string): TableGuess => {
    let t = tables.get(name);
    if (!t) {
      t = { key: undefined, columns: new Map(), rows: new Map() };
      tables.set(name, t);
    }
    return t;
  };
  const addRow = (t: TableGuess, where: string): boolean => {
    const pairs = [...where.matchAll(EQUALITY)];
    if (pairs.length === 0 || /\bor\b/i.test(where)) return false;
    const row = new Map<string, string>();
    for (const [, column = '', literal = ''] of pairs) {
      t.columns.set(column, t.columns.get(column) ?? typeOf(literal));
      row.set(column, literal);
    }
    t.key ??= pairs[0]?.[1];
    t.rows.set([...row.values()].join(','), row);
    return true;
  };
  for (const sql of statements) {
    const update = UPDATE.exec(sql);
    const del = DELETE.exec(sql);
    const select = SELECT_FOR.exec(sql);
    const insert = INSERT.exec(sql);
    if (update) {
      const t = table(update[1] ?? '');
      for (const [, column = '', value = ''] of (update[2] ?? '').matchAll(
        /\b([A-Za-z_]\w*)\s*=\s*([^,]+)/g,
      )) {
        const literal = new RegExp(`^${LITERAL}$`).exec(value.trim())?.[1];
        t.columns.set(
          column,
          t.columns.get(column) ?? (literal ? typeOf(literal) : /['"]/.test(value) ? 'text' : 'numeric'),
        );
      }
      if (!addRow(t, update[3] ?? '')) complete = false;
    } else if (del) {
      if (!addRow(table(del[1] ?? ''), del[2] ?? '')) complete = false;
    } else if (select) {
      if (!addRow(table(select[1] ?? ''), select[2] ?? '')) complete = false;
    } else if (insert) {
      const t = table(insert[1] ?? '');
      const columns = (insert[2] ?? '').split(',').map((c) => c.trim());
      const values = (insert[3] ?? '').split(',').map((v) => v.trim());
      columns.forEach((c, i) => t.columns.set(c, t.columns.get(c) ?? typeOf(values[i] ?? '0')));
      t.key ??= /on\s+conflict\s*\(\s*(\w+)/i.exec(insert[4] ?? '')?.[1] ?? columns[0];
    } else {
      complete = false;
    }
  }
  const sql: string[] = [];
  for (const [name, t] of tables) {
    const defs = [...t.columns].map(([column, type]) =>
      column === t.key
        ? `${column} ${type} PRIMARY KEY`
        : `${column} ${type}${type === 'text' ? " NOT NULL DEFAULT ''" : ' NOT NULL DEFAULT 0'}`,
    );
    sql.push(`CREATE TABLE ${name} (${defs.join(', ')});`);
    const rows = [...t.rows.values()];
    if (rows.length > 0) {
      const cols = [...(rows[0]?.keys() ?? [])];
      sql.push(
        `INSERT INTO ${name} (${cols.join(', ')}) VALUES ${rows.map((r) => `(${cols.map((c) => r.get(c) ?? 'DEFAULT').join(', ')})`).join(', ')};`,
      );
    }
  }
  if (!complete)
    sql.unshift('-- TODO: some statements were not understood; create the tables and rows they need.');
  return { sql: sql.join('\n'), complete };
}
