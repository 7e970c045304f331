/** A path segment that is an id rather than part of the route: a number, a UUID, or long hex with a digit. */
const ID_SEGMENT =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=[a-f]*\d)[0-9a-f]{8,})$/i;

/**
 * A route template guessed from a raw request URL, for plain `node:http` apps that have no router to
 * ask: the query string is dropped and id-like segments become `:id` (`/orders/42?x=1` →
 * `/orders/:id`), so the route stays one series however many orders there are.
 */
export const routeFromPath = (url: string | undefined): string => {
  if (url === undefined || url === '') return '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!/\d/.test(path)) return path;
  return path
    .split('/')
    .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
    .join('/');
};
