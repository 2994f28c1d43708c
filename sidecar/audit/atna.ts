// DICOM audit messages (PS3.15 A.5, the IHE ATNA format) for what the sidecar sees: its
// own start and stop, security alerts, user logins and logouts. Pure: a message is a
// function of the event, the sidecar's own identity and the time, rendered as XML that
// validates against the DICOM Audit Message Schema (A.5.1).
//
// Only what the sidecar knows goes in. It never parses data sets, so the messages that
// need a Patient ID or Study Instance UID (Begin Transferring, Instances Transferred,
// A.5.3.3 and A.5.3.7) are not sent: the PACS, which stores the instances, sends those.
import { isIP } from 'node:net';
import { renderXml, type XmlElement } from './xml.ts';

/** A coded value: (code, scheme, meaning), written as csd-code, codeSystemName, originalText (A.5.1). */
export interface Code {
  readonly code: string;
  readonly scheme: string;
  readonly meaning: string;
}

const dcm = (code: string, meaning: string): Code => ({ code, scheme: 'DCM', meaning });

/** EventID values (PS3.15 A.5.3). */
export const EVENT = {
  applicationActivity: dcm('110100', 'Application Activity'),
  securityAlert: dcm('110113', 'Security Alert'),
  userAuthentication: dcm('110114', 'User Authentication'),
} as const;

/** EventTypeCode values (PS3.16 CID 401 and 403, defined in Annex D). */
export const EVENT_TYPE = {
  applicationStart: dcm('110120', 'Application Start'),
  applicationStop: dcm('110121', 'Application Stop'),
  login: dcm('110122', 'Login'),
  logout: dcm('110123', 'Logout'),
  nodeAuthentication: dcm('110126', 'Node Authentication'),
  useOfRestrictedFunction: dcm('110132', 'Use of Restricted Function'),
  auditRecordingStopped: dcm('110133', 'Audit Recording Stopped'),
  auditRecordingStarted: dcm('110134', 'Audit Recording Started'),
  authenticationDecision: dcm('110143', 'Authentication Decision'),
  accessControlDecision: dcm('110147', 'Access Control Decision'),
} as const;

const ROLE_APPLICATION = dcm('110150', 'Application');
const NODE_ID = dcm('110182', 'Node ID');

/** EventOutcomeIndicator (A.5.2): 0 success, 4 minor failure (retry possible), 8 serious (terminated), 12 major (made unavailable). */
export type Outcome = 0 | 4 | 8 | 12;

/** The sidecar as a participant and as the audit source. */
export interface AuditSelf {
  /** AuditSourceID (A.5.2): the pod or host name unless configured. */
  readonly auditSourceId: string;
  readonly enterpriseSiteId?: string;
  /** UserID of the sidecar process (A.5.2.1: an identifier of its own logs; the process ID). */
  readonly processId: string;
  /** The AE titles it answers for: AlternativeUserID (A.5.2.2). */
  readonly aeTitles: readonly string[];
  /** Its network access point: the host name (type 1) or an address (type 2). */
  readonly host?: string;
}

/** The remote node: its address, and the AE title it called with when it got that far. */
export interface RemoteNode {
  readonly address: string;
  readonly aeTitle?: string;
}

const coded = (name: string, code: Code): XmlElement => ({ name, attributes: { 'csd-code': code.code, codeSystemName: code.scheme, originalText: code.meaning } });

/** A.5.2.2: "AETITLES=" and the titles separated by ";" (no space, as dcm4che writes it). */
const aeTitles = (titles: readonly string[]) => (titles.length ? `AETITLES=${titles.map((t) => t.trim()).join(';')}` : undefined);

function networkAccessPoint(host: string | undefined): Record<string, string | undefined> {
  return host ? { NetworkAccessPointID: host, NetworkAccessPointTypeCode: isIP(host) ? '2' : '1' } : {};
}

function sidecarParticipant(self: AuditSelf, extra: { role?: Code } = {}): XmlElement {
  return {
    name: 'ActiveParticipant',
    attributes: { UserID: self.processId, AlternativeUserID: aeTitles(self.aeTitles), UserName: 'dicom-guard', UserIsRequestor: false, ...networkAccessPoint(self.host) },
    children: extra.role ? [coded('RoleIDCode', extra.role)] : [],
  };
}

/** A remote process is known by its node (A.5.2.1: "the node name"), here its address, and its AE title. */
function remoteParticipant(remote: RemoteNode, requestor: boolean): XmlElement {
  return {
    name: 'ActiveParticipant',
    attributes: { UserID: remote.address, AlternativeUserID: remote.aeTitle ? aeTitles([remote.aeTitle]) : undefined, UserIsRequestor: requestor, ...networkAccessPoint(remote.address) },
  };
}

function auditSource(self: AuditSelf): XmlElement {
  return {
    name: 'AuditSourceIdentification',
    attributes: { AuditEnterpriseSiteID: self.enterpriseSiteId, AuditSourceID: self.auditSourceId },
    // 4: application server process tier, the type the standard gives a PACS; a proxy in front of one is of it.
    children: [{ name: 'AuditSourceTypeCode', attributes: { 'csd-code': '4' } }],
  };
}

function message(event: { id: Code; type: Code; outcome: Outcome; at: Date; description?: string }, participants: XmlElement[], self: AuditSelf, objects: XmlElement[] = []): string {
  return renderXml({
    name: 'AuditMessage',
    children: [
      {
        name: 'EventIdentification',
        attributes: { EventActionCode: 'E', EventDateTime: event.at.toISOString(), EventOutcomeIndicator: String(event.outcome) },
        children: [coded('EventID', event.id), coded('EventTypeCode', event.type), event.description ? { name: 'EventOutcomeDescription', text: event.description } : undefined],
      },
      ...participants,
      auditSource(self),
      ...objects,
    ],
  });
}

/** Application Activity (A.5.3.1): the sidecar started or is stopping. Who launched it is not known, so that participant is left out. */
export function applicationActivity(kind: 'start' | 'stop', self: AuditSelf, at: Date): string {
  return message(
    { id: EVENT.applicationActivity, type: kind === 'start' ? EVENT_TYPE.applicationStart : EVENT_TYPE.applicationStop, outcome: 0, at },
    [sidecarParticipant(self, { role: ROLE_APPLICATION })],
    self,
  );
}

export interface SecurityAlertInput {
  readonly type: Code;
  readonly outcome: Outcome;
  readonly remote: RemoteNode;
  /** In words, as the JSON audit record's `why`. */
  readonly description: string;
}

/**
 * Security Alert (A.5.3.11): reported by the sidecar, performed by the remote node (its
 * UserIsRequestor "shall be FALSE"), the alert subject that node (Node ID: its address),
 * with the description as the "Alert Description" detail (base64, as every ValuePair).
 */
export function securityAlert(alert: SecurityAlertInput, self: AuditSelf, at: Date): string {
  const subject: XmlElement = {
    name: 'ParticipantObjectIdentification',
    attributes: { ParticipantObjectID: alert.remote.address, ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '13' },
    children: [
      coded('ParticipantObjectIDTypeCode', NODE_ID),
      // The schema wants a name or a query; the node's AE title when it sent one, else its address.
      { name: 'ParticipantObjectName', text: alert.remote.aeTitle?.trim() || alert.remote.address },
      { name: 'ParticipantObjectDetail', attributes: { type: 'Alert Description', value: Buffer.from(alert.description, 'utf8').toString('base64') } },
    ],
  };
  return message({ id: EVENT.securityAlert, type: alert.type, outcome: alert.outcome, at, description: alert.description }, [sidecarParticipant(self), remoteParticipant(alert.remote, false)], self, [subject]);
}

/** An audit recording started or stopped (CID 403): the sidecar's own audit trail to the repository. */
export function auditRecording(kind: 'started' | 'stopped', self: AuditSelf, at: Date): string {
  return message({ id: EVENT.securityAlert, type: kind === 'started' ? EVENT_TYPE.auditRecordingStarted : EVENT_TYPE.auditRecordingStopped, outcome: 0, at }, [sidecarParticipant(self)], self);
}

export interface UserAuthenticationInput {
  readonly kind: 'login' | 'logout';
  readonly outcome: Outcome;
  /** The user: verified, or as claimed (types 1 and 2) when verification failed. */
  readonly user: string;
  readonly remote: RemoteNode;
  readonly description?: string;
}

/**
 * User Authentication (A.5.3.12): the user (requestor; its network access point is
 * mandatory) and the sidecar, the node performing the authentication.
 */
export function userAuthentication(input: UserAuthenticationInput, self: AuditSelf, at: Date): string {
  const person: XmlElement = {
    name: 'ActiveParticipant',
    attributes: { UserID: input.user, AlternativeUserID: input.remote.aeTitle ? aeTitles([input.remote.aeTitle]) : undefined, UserIsRequestor: true, ...networkAccessPoint(input.remote.address) },
  };
  return message(
    { id: EVENT.userAuthentication, type: input.kind === 'login' ? EVENT_TYPE.login : EVENT_TYPE.logout, outcome: input.outcome, at, ...(input.description ? { description: input.description } : {}) },
    [person, sidecarParticipant(self)],
    self,
  );
}
