/**
 * `${VAR}` in any string value of a parsed configuration is replaced by the environment variable
 * VAR (secrets stay out of the file); `$${…}` is a literal `${…}`. Every missing variable is a
 * problem naming the variable and where it was used, so that all of them are reported at once.
 */

export interface ConfigProblem {
  /** `targets[0].url`, or '' for the document itself. */
  readonly path: string;
  readonly message: string;
}

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  problems: ConfigProblem[],
  path: readonly (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (whole, escaped: string, name: string) => {
      if (escaped === '$') return whole.slice(1);
      if (!NAME.test(name)) {
        problems.push({
          path: formatPath(path),
          message: `"\${${name}}" is not a variable reference; write \${NAME} (letters, digits, _) or $\${…} for a literal`,
        });
        return whole;
      }
      const found = env[name];
      if (found === undefined) {
        problems.push({
          path: formatPath(path),
          message: `environment variable ${name} is not set (referenced as \${${name}}); set it, or write $\${${name}} for a literal`,
        });
        return whole;
      }
      return found;
    });
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolate(item, env, problems, [...path, index]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, problems, [...path, key])]),
    );
  }
  return value;
}

/** `['targets', 0, 'url']` → `targets[0].url`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
