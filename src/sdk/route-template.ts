const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** Whether `path[start, end)` is an id: a number, a UUID, or 8+ hex characters with a digit. */
const isIdSegment = (path: string, start: number, end: number): boolean => {
  const length = end - start;
  if (length === 0) return false;
  let digits = 0;
  let hex = 0;
  let dashes = 0;
  for (let i = start; i < end; i++) {
    const c = path.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (isHex(c)) hex++;
    else if (
      c === 45 /* - */ &&
      (i - start === 8 || i - start === 13 || i - start === 18 || i - start === 23)
    )
      dashes++;
    else return false;
  }
  if (digits === length) return true;
  if (dashes === 4) return length === 36;
  return dashes === 0 && length >= 8 && digits > 0 && digits + hex === length;
};

/**
 * A route template guessed from a raw request URL, for plain `node:http` apps that have no router to
 * ask: the query string is dropped and id-like segments become `:id` (`/orders/42?x=1` →
 * `/orders/:id`), so the route stays one series however many orders there are. A scan, no regex or
 * split: it runs once per request.
 */
export const routeFromPath = (url: string | undefined): string => {
  if (url === undefined || url === '') return '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let out = '';
  let copied = 0;
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    if (isIdSegment(path, start, end)) {
      out += `${path.slice(copied, start)}:id`;
      copied = end;
    }
    start = end + 1;
  }
  return copied === 0 ? path : out + path.slice(copied);
};
