/**
 * SQLSTATE for an error message when the log does not carry it (stderr without `%e` in the
 * prefix). Only messages whose code is unambiguous; others stay unknown (`null`). Assumes
 * `lc_messages = C` (English): with another locale these do not match and errors are grouped by
 * message under an unknown SQLSTATE, which the report says.
 */
const RULES: readonly (readonly [string, string])[] = [
  ['deadlock detected', '40P01'],
  ['could not serialize access', '40001'],
  ['canceling statement due to lock timeout', '55P03'],
  ['could not obtain lock on', '55P03'],
  ['canceling statement due to statement timeout', '57014'],
  ['canceling statement due to user request', '57014'],
  ['canceling autovacuum task', '57014'],
  ['terminating connection due to administrator command', '57P01'],
  ['terminating connection due to idle-in-transaction timeout', '25P03'],
  ['duplicate key value violates unique constraint', '23505'],
  ['violates foreign key constraint', '23503'],
  ['violates not-null constraint', '23502'],
  ['violates check constraint', '23514'],
  ['syntax error at or near', '42601'],
  ['syntax error at end of input', '42601'],
  ['current transaction is aborted', '25P02'],
  ['division by zero', '22012'],
  ['invalid input syntax for', '22P02'],
  ['password authentication failed', '28P01'],
  ['permission denied', '42501'],
  ['prepared statement', '26000'],
];

const DOES_NOT_EXIST: readonly (readonly [string, string])[] = [
  ['relation ', '42P01'],
  ['column ', '42703'],
  ['function ', '42883'],
  ['database ', '3D000'],
  ['role ', '28000'],
];

/** stderr appends the error position to the message; csvlog/jsonlog keep it apart. */
export const withoutPosition = (message: string): string => message.replace(/ at character \d+$/, '');

export function inferSqlstate(rawMessage: string): string | null {
  const message = withoutPosition(rawMessage);
  for (const [start, code] of RULES)
    if (message.startsWith(start) || (start.startsWith('violates') && message.includes(start))) return code;
  if (message.endsWith(' does not exist'))
    for (const [start, code] of DOES_NOT_EXIST) if (message.startsWith(start)) return code;
  return null;
}

/** SQLSTATE class names for the report (the first two characters). */
export const SQLSTATE_CLASSES: Readonly<Record<string, string>> = {
  '08': 'connection exception',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '25': 'invalid transaction state',
  '26': 'invalid SQL statement name',
  '28': 'invalid authorization',
  '3D': 'invalid catalog name',
  '40': 'transaction rollback',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention',
  '58': 'system error',
  XX: 'internal error',
};

/**
 * An error message with its data taken out so that occurrences group: numbers become `N`, a
 * quoted value after a colon (`invalid input syntax for type integer: "abc"`) becomes `"…"`.
 * Double-quoted names (relations, constraints, columns) stay: they say where.
 */
export function normalizeErrorMessage(message: string): string {
  const bare = withoutPosition(message);
  const firstLine = bare.length > 300 ? `${bare.slice(0, 300)}…` : bare;
  return firstLine.replace(/: ".*"$/s, ': "…"').replace(/\d+/g, 'N');
}
