/**
 * Compact database metrics (issue 12, the store's cost): reserved by the metrics helper — the
 * schema change lands in this file before the session ends. Other migrations take 0006+.
 */
export const sql = /* sql */ `
SELECT 1;
`;
