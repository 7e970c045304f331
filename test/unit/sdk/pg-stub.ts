/**
 * A stand-in for pg's module (a `Client` whose `query` answers at once), for the framework tests:
 * it records each statement's text as it would reach PostgreSQL (tags included), and fails any
 * statement containing `FAIL 40P01` with that SQLSTATE, the way pg's DatabaseError carries it.
 */
export class DatabaseError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(`deadlock detected (${code})`);
    this.code = code;
  }
}

export const createPgStub = () => {
  const statements: string[] = [];
  class Client {
    query(config: unknown): Promise<{ rows: never[] }> {
      const text = typeof config === 'string' ? config : String((config as { text?: unknown }).text);
      statements.push(text);
      const failing = /FAIL (\w{5})/.exec(text);
      return failing === null
        ? Promise.resolve({ rows: [] })
        : Promise.reject(new DatabaseError(failing[1]!));
    }
  }
  return { module: { Client }, client: new Client(), statements };
};
