// Building the user's DN from identity.ldap.userDN. The username comes from the caller,
// so it is escaped as an attribute value (RFC 4514 section 2.4): "alice,ou=admins" must
// stay one value, not become two more RDNs.

/** Characters RFC 4514 2.4 escapes anywhere in a value (plus "=", which 2.4 allows escaping). */
const ESCAPED_ANYWHERE = new Set(['"', '+', ',', ';', '<', '>', '\\', '=']);

/** An attribute value escaped for a DN string (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  const chars = [...value];
  let out = '';
  chars.forEach((ch, index) => {
    const code = ch.codePointAt(0)!;
    if (ESCAPED_ANYWHERE.has(ch)) out += `\\${ch}`;
    // A space or "#" first, or a space last, would be read as syntax.
    else if ((index === 0 && (ch === ' ' || ch === '#')) || (index === chars.length - 1 && ch === ' ')) out += `\\${ch}`;
    // NUL must be written as \00; the other control characters may be, and are, so logs stay readable.
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  });
  return out;
}

/** The DN to bind as: every {username} in the template replaced with the escaped username. */
export function userDn(template: string, username: string): string {
  const escaped = escapeDnValue(username);
  // A function, so that "$&" and friends in a username are not replacement patterns.
  return template.replaceAll('{username}', () => escaped);
}

/** "radiology" from "cn=radiology,ou=groups,..."; undefined when the value is not a DN. */
export function firstRdnValue(value: string): string | undefined {
  const match = /^\s*[A-Za-z][A-Za-z0-9-]*\s*=((?:[^,+\\]|\\.)*)[,+]/.exec(value);
  if (!match) return undefined;
  // Undo RFC 4514 escapes: "\," is a comma, "\c3\a9" the UTF-8 bytes of "é".
  const bytes: number[] = [];
  // Unescaped spaces around a value are not part of it; "\ " is.
  const text = match[1]!.replace(/^ +/, '').replace(/(?<!\\) +$/, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    if (text[i] === '\\') i++;
    const codePoint = text.codePointAt(i);
    if (codePoint === undefined) break;
    const char = String.fromCodePoint(codePoint);
    bytes.push(...Buffer.from(char, 'utf8'));
    i += char.length - 1;
  }
  return Buffer.from(bytes).toString('utf8');
}
