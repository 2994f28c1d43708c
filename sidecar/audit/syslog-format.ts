// Audit messages as syslog messages (DICOM PS3.15 A.5 transports them by syslog; RFC 5424
// format, RFC 5425 over TLS with octet counting, RFC 5426 over UDP). Pure.
//
// PS3.15 A.6 and A.7: facility 10 (security/authorization messages) and severity 5, so
// PRI <85>; the MSGID must be set: DICOM suggests "DICOM+RFC3881", IHE ITI-20 requires
// "IHE+RFC-3881", which satisfies both. The XML is the MSG part; no structured data.

const FACILITY_AUTHPRIV = 10;
const SEVERITY_NOTICE = 5;
export const AUDIT_MSGID = 'IHE+RFC-3881';

export interface SyslogHeader {
  /** RFC 5424 HOSTNAME: the FQDN or IP address of the sender (at most 255 printable ASCII). */
  readonly hostname: string;
  /** APP-NAME, at most 48 printable ASCII. */
  readonly appName: string;
  /** PROCID, at most 128 printable ASCII. */
  readonly procId: string;
}

/** RFC 5424 6.2: header fields are PRINTUSASCII (33-126), "-" when empty. */
function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return printable.length ? printable : '-';
}

/**
 * One RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG. The MSG
 * is UTF-8 without the BOM of RFC 5424 6.4 (MSG-ANY allows that): an XML parser that
 * takes the MSG as a document may refuse a BOM before "<".
 */
export function syslogMessage(header: SyslogHeader, timestamp: Date, xml: string): Buffer {
  const pri = FACILITY_AUTHPRIV * 8 + SEVERITY_NOTICE;
  const head = `<${pri}>1 ${timestamp.toISOString()} ${headerField(header.hostname, 255)} ${headerField(header.appName, 48)} ${headerField(header.procId, 128)} ${AUDIT_MSGID} - `;
  return Buffer.concat([Buffer.from(head, 'ascii'), Buffer.from(xml, 'utf8')]);
}

/** RFC 5425 4.3 (RFC 6587 3.4.1): MSG-LEN SP SYSLOG-MSG, the length in octets. */
export function octetCounted(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}
