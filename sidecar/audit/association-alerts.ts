// Which associations are security alerts (PS3.15 A.5.3.11), and of which type: a pure
// function of the finished audit record. Refusals by the sidecar's access control and
// protocol violations by the caller are; the PACS's own answers, an unreachable PACS,
// idle timeouts, and callers that simply leave are not (they are in the JSON record).
import type { AuditRecord } from '../proxy/association.ts';
import { EVENT_TYPE, type RemoteNode, type SecurityAlertInput } from './atna.ts';

/** The caller as audit messages name it: its address, and its calling AE title once it sent one. */
export function callerOf(record: Pick<AuditRecord, 'source' | 'callingAETitle'>): RemoteNode {
  return { address: record.source.address, ...(record.callingAETitle ? { aeTitle: record.callingAETitle } : {}) };
}

/** The audit record in words: the JSON log line's message, and the alert's description. */
export function describeAssociation(record: AuditRecord): string {
  const who = `${record.callingAETitle ?? '?'} -> ${record.calledAETitle ?? '?'} from ${record.source.address}`;
  switch (record.decision) {
    case 'accepted':
      return `association ${who} (peer ${record.peer}) ${record.ended}`;
    case 'rejected':
      return `association ${who} rejected${record.reject ? ` (${record.reject.result},${record.reject.source},${record.reject.reason} ${record.reject.name})` : ''}: ${record.why}`;
    case 'aborted':
      return `association ${who} aborted: ${record.why}`;
    case 'closed':
      return `connection from ${record.source.address} closed: ${record.why ?? record.ended}`;
  }
}

export function associationAlert(record: AuditRecord): SecurityAlertInput | undefined {
  const remote = callerOf(record);
  // An accepted association's line does not say why it ended; the alert does.
  const description = record.decision === 'accepted' && record.why ? `${describeAssociation(record)}: ${record.why}` : describeAssociation(record);
  const alert = (type: SecurityAlertInput['type'], outcome: SecurityAlertInput['outcome']): SecurityAlertInput => ({ type, outcome, remote, description });
  switch (record.ended) {
    // Who the caller is did not pass: its address, its TLS, or it never finished asking.
    case 'address-not-allowed':
    case 'tls-failed':
    case 'artim-timeout':
      return alert(EVENT_TYPE.nodeAuthentication, 4);
    case 'aborted-protocol-error':
      return record.fault === 'client' ? alert(EVENT_TYPE.nodeAuthentication, 8) : undefined;
    case 'message-refused':
      return record.refusedMessage?.from === 'client' ? alert(EVENT_TYPE.useOfRestrictedFunction, 8) : undefined;
    case 'rejected':
      switch (record.reject?.name) {
        case 'identity-rejected':
          return alert(EVENT_TYPE.authenticationDecision, 4);
        case 'no-reason-given': // (1,1,1): every context proposed is outside the peer's services
          return alert(EVENT_TYPE.useOfRestrictedFunction, 4);
        case 'local-limit-exceeded':
          return alert(EVENT_TYPE.accessControlDecision, 4);
        case 'temporary-congestion':
          // Without a peer: the source address is blocked. With one: the PACS could not be
          // reached, a security event only when the remote upstream failed TLS (edge mode).
          if (record.peer === undefined) return alert(EVENT_TYPE.nodeAuthentication, 4);
          if (record.fault === 'upstream' && record.upstream) return { ...alert(EVENT_TYPE.nodeAuthentication, 4), remote: { address: record.upstream.address } };
          return undefined;
        default: // AE titles, application context, protocol version
          return alert(EVENT_TYPE.nodeAuthentication, 4);
      }
    default:
      return undefined;
  }
}
