import { dirname, isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** This folder, as a path and as a URL (ESM frames name files by URL): the SDK's own frames are never the app's. */
const SDK_DIR = dirname(fileURLToPath(import.meta.url)) + sep;
const SDK_URL = pathToFileURL(SDK_DIR).href;
const NODE_MODULES = `${sep}node_modules${sep}`;
/** Distinct call sites remembered with their rendered form. */
const CACHE_LIMIT = 4096;

type StackFn = (...args: never[]) => unknown;

const toPath = (file: string): string => (file.startsWith('file://') ? fileURLToPath(file) : file);

/** Tested on the name as V8 gives it (no URL parsing per frame: this runs for every statement). */
const isAppFile = (file: string | null | undefined): file is string => {
  if (file === null || file === undefined || file.startsWith('node:')) return false;
  if (file.startsWith('file://')) return !file.includes('/node_modules/') && !file.startsWith(SDK_URL);
  return isAbsolute(file) && !file.includes(NODE_MODULES) && !file.startsWith(SDK_DIR);
};

/** `    at fn (file:12:5)`, `    at file:12:5`, `    at async fn (file:///x.ts:12:5)`. */
const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):\d+\)?$/;

/** Frames as V8 hands them to `Error.prepareStackTrace`, unformatted (cheap: nothing is rendered). */
const rawFrames = (_error: Error, frames: NodeJS.CallSite[]): NodeJS.CallSite[] => frames;

/**
 * Finds the statement's call site: the first stack frame in the app's own code (not node:internal,
 * not node_modules, not the SDK), as `path/relative/to/appRoot.ts:LINE`.
 *
 * Per call it captures at most `depth` frames as V8 call sites (no string is formatted) and finds the
 * first app frame; each distinct frame is rendered once — from the formatted stack, so that source
 * maps (tsx, Vitest, `--enable-source-maps`) give the line in the .ts file — and cached.
 */
export class CallSiteLocator {
  readonly #appRoot: string;
  readonly #depth: number;
  readonly #rendered = new Map<string, string>();

  constructor(appRoot: string, depth: number) {
    this.#appRoot = appRoot;
    this.#depth = depth;
  }

  /** The app's frame that called `below` (a function on the stack, itself excluded), or null. */
  locate(below: StackFn): string | null {
    const frames = this.#capture(below, rawFrames) as NodeJS.CallSite[] | undefined;
    if (!Array.isArray(frames)) return null;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      const file = frame?.getFileName();
      if (!isAppFile(file)) continue;
      const key = `${file}:${frame?.getLineNumber() ?? 0}:${frame?.getColumnNumber() ?? 0}`;
      const known = this.#rendered.get(key);
      if (known !== undefined) return known;
      const site = this.#render(below, i) ?? this.#format(toPath(file), frame?.getLineNumber() ?? 0);
      if (this.#rendered.size >= CACHE_LIMIT) this.#rendered.clear();
      this.#rendered.set(key, site);
      return site;
    }
    return null;
  }

  /** Frame `index` of the stack as the runtime formats it (source-mapped when maps are on). */
  #render(below: StackFn, index: number): string | null {
    const stack = this.#capture(below, undefined);
    if (typeof stack !== 'string') return null;
    const lines = stack.split('\n').filter((line) => line.startsWith('    at '));
    const m = FRAME.exec(lines[index] ?? '');
    if (m === null) return null;
    const file = m[1] ?? '';
    return isAppFile(file) ? this.#format(toPath(file), Number(m[2])) : null;
  }

  #format(path: string, line: number): string {
    const rel = relative(this.#appRoot, path);
    const shown = rel.startsWith('..') || isAbsolute(rel) ? path : rel;
    // The server keeps 512 characters of a call site: keep the end (file and line) of a long path.
    const site = `${shown.split(sep).join('/')}:${line}`;
    return site.length <= 512 ? site : `…${site.slice(site.length - 511)}`;
  }

  #capture(below: StackFn, prepare: typeof Error.prepareStackTrace | undefined): unknown {
    const limit = Error.stackTraceLimit;
    const before = Error.prepareStackTrace; // eslint-disable-line @typescript-eslint/unbound-method -- put back as it was
    Error.stackTraceLimit = this.#depth;
    if (prepare !== undefined) Error.prepareStackTrace = prepare;
    try {
      const holder: { stack?: unknown } = {};
      Error.captureStackTrace(holder, below);
      return holder.stack;
    } finally {
      Error.prepareStackTrace = before;
      Error.stackTraceLimit = limit;
    }
  }
}
