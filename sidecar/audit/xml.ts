// Just enough XML for audit messages: elements with attributes and text, escaped. Values
// come from the network (AE titles, user names, reasons quoting them), so escaping is the
// point: every attribute and text is escaped, and characters XML 1.0 cannot carry at all
// (control characters, lone surrogates, U+FFFE/U+FFFF; XML 1.0 section 2.2) become U+FFFD,
// so a crafted user name can neither break the document nor hide in it. Pure.

export interface XmlElement {
  readonly name: string;
  readonly attributes?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly children?: readonly (XmlElement | undefined)[];
  readonly text?: string;
}

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xmlCharacters(value: string): string {
  return value.replace(NOT_XML_CHAR, '\uFFFD');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** Text or attribute content, escaped; tabs and line breaks as references so that the message stays one line and attribute values keep them. */
export function escapeXml(value: string): string {
  // Most values (codes, addresses, AE titles, times) are printable ASCII with nothing to escape.
  if (PLAIN.test(value)) return value;
  return xmlCharacters(value).replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c]!);
}

const PLAIN = /^[\x20\x21\x23-\x25\x28-\x3b\x3d\x3f-\x7e]*$/;

export function renderXml(element: XmlElement): string {
  const attributes = Object.entries(element.attributes ?? {})
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join('');
  const children = (element.children ?? []).filter((c): c is XmlElement => c !== undefined);
  const content = `${element.text !== undefined ? escapeXml(element.text) : ''}${children.map(renderXml).join('')}`;
  return content ? `<${element.name}${attributes}>${content}</${element.name}>` : `<${element.name}${attributes}/>`;
}
