// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text that came from elsewhere (a server, a monitored database) made safe to print: control
 * characters, which could move the cursor or rewrite the terminal, are shown as `\xNN`.
 */
export function terminalText(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One line, at most `width` characters (an ellipsis when cut). */
export function oneLine(text: string, width: number): string {
  const flat = terminalText(text).replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`;
}
