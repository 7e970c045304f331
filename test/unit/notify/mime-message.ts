/**
 * Just enough MIME to read what nodemailer sent: headers, and the parts of a
 * multipart/alternative body decoded from quoted-printable or base64.
 */

export interface MimePart {
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

export interface MimeMessage extends MimePart {
  readonly parts: readonly MimePart[];
}

export function parseMime(raw: string): MimeMessage {
  const top = parseEntity(raw);
  const boundary = /boundary="?([^";]+)"?/i.exec(top.headers['content-type'] ?? '')?.[1];
  if (boundary === undefined) return { ...top, parts: [] };
  const sections = top.text.split(`--${boundary}`).slice(1, -1);
  return { ...top, parts: sections.map((section) => parseEntity(section.replace(/^\r?\n/, ''))) };
}

function parseEntity(raw: string): MimePart {
  const split = /\r?\n\r?\n/.exec(raw);
  const head = raw.slice(0, split?.index ?? raw.length).replace(/\r?\n[ \t]+/g, ' ');
  const body = split === null ? '' : raw.slice(split.index + split[0].length);
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  // SMTP lines end in CRLF; the text as written used LF.
  return { headers, text: decode(body, encoding).replace(/\r\n/g, '\n') };
}

function decode(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/\r?\n$/, '')
      .split(/(=[0-9A-F]{2})/i)
      .flatMap((piece) =>
        /^=[0-9A-F]{2}$/i.test(piece)
          ? [Buffer.from([parseInt(piece.slice(1), 16)])]
          : [Buffer.from(piece, 'utf8')],
      );
    return Buffer.concat(bytes).toString('utf8');
  }
  return body.replace(/\r?\n$/, '');
}
