// The sidecar's DICOM audit trail (audit.syslog): the messages of atna.ts, sent by
// syslog-sender.ts. One per sidecar; a reload that changes audit.syslog (or its files)
// replaces the sender, the old one gets a moment to write what it holds. Without
// audit.syslog every call is a no-op: the JSON audit records are written regardless.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { AuditRecord } from '../proxy/association.ts';
import { lockoutNote, type SourceLockout } from '../events/lockout-events.ts';
import { associationAlert, callerOf } from './association-alerts.ts';
import { applicationActivity, auditRecording, EVENT_TYPE, securityAlert, userAuthentication, type AuditSelf, type RemoteNode } from './atna.ts';
import { SyslogSender, type SyslogTarget } from './syslog-sender.ts';

export interface AuditTrailSettings {
  /** Changes when audit.syslog or a file it names changes. */
  readonly key: string;
  readonly target: SyslogTarget;
  readonly auditSourceId: string;
  readonly enterpriseSiteId?: string;
}

/** The AuditSourceID and RFC 5424 HOSTNAME when none is configured: the pod's name, else the host's. */
export const defaultAuditSource = (env: NodeJS.ProcessEnv = process.env): string => env.DICOMGUARD_POD_NAME || hostname();

export class AuditTrail {
  readonly #logger: Logger;
  readonly #counter: Counter<'result'>;
  #settings: AuditTrailSettings | undefined;
  #sender: SyslogSender | undefined;
  #aeTitles: readonly string[] = [];

  constructor(logger: Logger, counter: Counter<'result'>) {
    this.#logger = logger;
    this.#counter = counter;
  }

  /** Apply a generation's audit.syslog (undefined: off) and AE titles. */
  configure(settings: AuditTrailSettings | undefined, aeTitles: readonly string[]): void {
    this.#aeTitles = aeTitles;
    if (settings?.key === this.#settings?.key) return;
    const previous = this.#sender;
    if (previous) this.#send(auditRecording('stopped', this.#self(), new Date()));
    this.#settings = settings;
    this.#sender = settings ? new SyslogSender(settings.target, this.#logger, this.#counter) : undefined;
    void previous?.close();
    if (settings) {
      this.#logger.info({ repository: `${settings.target.host}:${settings.target.port}`, transport: settings.target.transport }, 'DICOM audit messages (PS3.15 A.5) go to the audit repository');
      this.#send(auditRecording('started', this.#self(), new Date()));
    }
  }

  applicationStarted(): void {
    this.#send(applicationActivity('start', this.#self(), new Date()));
  }

  /** Application Stop and Audit Recording Stopped, written before the sender closes. */
  async close(): Promise<void> {
    if (!this.#sender) return;
    const self = this.#self();
    this.#send(applicationActivity('stop', self, new Date()));
    this.#send(auditRecording('stopped', self, new Date()));
    await this.#sender.close();
    this.#sender = undefined;
  }

  /** A user identity was checked: Login, success or failure. `user` is the verified name, or the claimed one (types 1, 2). */
  identityChecked(outcome: 'verified' | 'failed', user: string | undefined, remote: RemoteNode, why?: string): void {
    if (!user) return; // a JWT (or other token) that failed names no one we could trust; the Security Alert reports it
    this.#send(userAuthentication({ kind: 'login', outcome: outcome === 'verified' ? 0 : 4, user, remote, ...(why ? { description: why } : {}) }, this.#self(), new Date()));
  }

  /** limits.failedAttempts locked the address out: a Security Alert, major (the address is made unavailable, A.5.2). The description is the Event's note, without the AE title. */
  sourceBlocked(lockout: SourceLockout): void {
    const { callingAETitle: _, ...withoutCaller } = lockout;
    this.#send(securityAlert({ type: EVENT_TYPE.nodeAuthentication, outcome: 12, remote: { address: lockout.source }, description: lockoutNote(withoutCaller) }, this.#self(), new Date()));
  }

  /** The end of an association: a Security Alert when it was refused, Logout when a user had logged in. */
  associationEnded(record: AuditRecord): void {
    if (!this.#sender) return;
    const alert = associationAlert(record);
    if (alert) this.#send(securityAlert(alert, this.#self(), new Date()));
    if (record.user && record.decision === 'accepted') {
      this.#send(userAuthentication({ kind: 'logout', outcome: 0, user: record.user, remote: callerOf(record) }, this.#self(), new Date()));
    }
  }

  #self(): AuditSelf {
    const settings = this.#settings;
    return {
      auditSourceId: settings?.auditSourceId ?? defaultAuditSource(),
      ...(settings?.enterpriseSiteId ? { enterpriseSiteId: settings.enterpriseSiteId } : {}),
      processId: String(process.pid),
      aeTitles: this.#aeTitles,
      host: settings?.target.header.hostname ?? defaultAuditSource(),
    };
  }

  #send(xml: string): void {
    this.#sender?.send(xml);
  }
}
