import { readFile } from 'node:fs/promises';

/** The catalog queries of the sampler, one `.sql` file each in ./queries/. */
export const SQL_FILE_NAMES = [
  'sessions',
  'lock-waits',
  'lock-waits-pg13',
  'database-counters',
  'server-settings',
  'relation-names',
  'statements-probe',
  'statements',
  'statements-reset',
  'statement-texts',
] as const;

export type SqlFileName = (typeof SQL_FILE_NAMES)[number];
export type SqlFiles = Readonly<Record<SqlFileName, string>>;

/**
 * Where a query file may live, relative to this module. Under tsx this module is
 * src/agent/targets/postgres/, next to queries/. After `tsc` it is
 * dist/src/agent/targets/postgres/, and tsc does not copy `.sql` files: unless a build step
 * copied them next to the module, they are read from the source tree, which ships in the package.
 */
export function sqlFileCandidates(name: string, moduleUrl: string = import.meta.url): readonly URL[] {
  const local = new URL(`./queries/${name}.sql`, moduleUrl);
  const fromDist = /\/dist\/src\/agent\/targets\/postgres\/[^/]*$/.test(new URL(moduleUrl).pathname)
    ? [new URL(`../../../../../src/agent/targets/postgres/queries/${name}.sql`, moduleUrl)]
    : [];
  return [local, ...fromDist];
}

async function readFirst(name: string): Promise<string> {
  const candidates = sqlFileCandidates(name);
  for (const url of candidates) {
    try {
      return await readFile(url, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(
    `query file ${name}.sql not found; looked in: ${candidates.map((u) => u.pathname).join(', ')}`,
  );
}

/** A query as it goes into a larger statement: no trailing semicolon, ends with a newline. */
function embeddable(text: string): string {
  return `${text.trim().replace(/;$/, '').trimEnd()}\n`;
}

let loaded: Promise<SqlFiles> | undefined;

/** Reads every query file once per process (the first call starts it; later calls share it). */
export function loadSqlFiles(): Promise<SqlFiles> {
  loaded ??= Promise.all(
    SQL_FILE_NAMES.map(async (name) => [name, embeddable(await readFirst(name))] as const),
  )
    .then((entries) => Object.fromEntries(entries) as SqlFiles)
    .catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
  return loaded;
}
