/**
 * A copy of `text` that does not keep the string it was cut from alive. The log reader hands out
 * slices of 64 KB decoded chunks; V8 keeps a slice's whole parent in memory, so a statement kept
 * per pid or as an example could pin hundreds of chunks. Prepending a character makes a cons
 * string, and `slice` flattens it into a fresh copy.
 */
export const detach = (text: string): string => (text.length < 13 ? text : (' ' + text).slice(1));
