/**
 * A connection URL fit to print or store: its password — in the userinfo or as a `password=` /
 * `sslpassword=` parameter — replaced by `***`. The one redactor of the code base: messages, logs,
 * `config check` and the store all use it.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@')
    .replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}
