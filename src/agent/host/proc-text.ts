/**
 * Parsers of Linux `/proc` text (proc(5)), pure so they are tested on recorded files. Each returns
 * null for text it cannot read rather than guessing: a host figure left out beats a wrong one.
 */

/** `/proc/stat`: the aggregate `cpu` line (ticks) and how many `cpuN` lines there are. */
export const parseProcStat = (
  text: string,
): { readonly total: number; readonly idle: number; readonly cpus: number } | null => {
  let aggregate: number[] | null = null;
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) aggregate = line.trim().split(/\s+/).slice(1).map(Number);
    else if (/^cpu\d+ /.test(line)) cpus += 1;
  }
  if (aggregate === null || aggregate.length < 4 || aggregate.some((n) => !Number.isFinite(n))) return null;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user/nice).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = aggregate;
  return {
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    idle: idle + iowait,
    cpus: Math.max(1, cpus),
  };
};

/** `/proc/loadavg`: `0.52 0.58 0.59 1/467 12345`. */
export const parseLoadAvg = (text: string): readonly [number, number, number] | null => {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (a === undefined || b === undefined || c === undefined || [a, b, c].some((n) => !Number.isFinite(n)))
    return null;
  return [a, b, c];
};

/** `/proc/meminfo`: MemTotal and MemAvailable (kB) in bytes. */
export const parseMemInfo = (
  text: string,
): { readonly totalBytes: number; readonly availableBytes: number } | null => {
  const kb = (key: string): number | null => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  };
  const totalBytes = kb('MemTotal');
  const availableBytes = kb('MemAvailable');
  if (totalBytes === null || availableBytes === null) return null;
  return { totalBytes, availableBytes };
};

/**
 * `/proc/<pid>/stat`: the parent pid and utime + stime in clock ticks. The command name (field 2)
 * is in parentheses and may itself hold spaces and parentheses: fields are counted after the
 * last `)`.
 */
export const parsePidStat = (text: string): { readonly ppid: number; readonly ticks: number } | null => {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // After the name: state(3) ppid(4) … utime(14) stime(15).
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (![ppid, utime, stime].every(Number.isFinite) || fields.length < 13) return null;
  return { ppid, ticks: utime + stime };
};

/** `/proc/<pid>/cmdline` (NUL-separated): is it a PostgreSQL server process? */
export const isPostgresCommand = (cmdline: string): boolean => {
  const program = cmdline.split('\u0000')[0] ?? '';
  // The postmaster keeps its argv (…/bin/postgres -D …); backends retitle themselves "postgres: …".
  return /(^|\/)(postgres|postmaster)(:|$| )/.test(program);
};
