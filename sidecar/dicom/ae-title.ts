// Application Entity titles: PS3.5 section 6.2 (VR AE) and PS3.8 section 9.3.2.
// Up to 16 characters of the default character repertoire; leading and trailing spaces
// are not significant; a value of all spaces is not a title; no backslash (the value
// delimiter) and no control characters. Comparison is case-sensitive.

/** Why `title` (already trimmed or not) is not a valid AE title, or undefined. */
export function aeTitleProblem(title: string): string | undefined {
  const trimmed = title.trim();
  if (trimmed.length === 0) return 'an AE title must not be empty or all spaces';
  if (title.length > 16) return `an AE title has at most 16 characters ("${title}" has ${title.length})`;
  for (const char of title) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return `an AE title must not contain control characters (found 0x${code.toString(16).padStart(2, '0')})`;
    if (code > 0x7e) return `an AE title is ASCII only (found U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
    if (char === '\\') return 'an AE title must not contain a backslash';
  }
  return undefined;
}

/** A title as it should appear in logs: printable, quoted, never longer than 16. */
export function printableAETitle(title: string): string {
  return JSON.stringify(title.slice(0, 16));
}
