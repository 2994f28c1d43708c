// The one place that knows the A-ASSOCIATE-RJ codes (PS3.8 Table 9-21) and what each
// means in words. Every refusal the sidecar sends is one of these.

export interface RejectCode {
  /** 1 rejected-permanent, 2 rejected-transient. */
  result: 1 | 2;
  /** 1 service-user, 2 service-provider (ACSE related), 3 service-provider (presentation related). */
  source: 1 | 2 | 3;
  reason: number;
  /** Stable identifier for logs, audit and metric labels. */
  name: string;
  /** What the standard calls it. */
  meaning: string;
}

function code(result: 1 | 2, source: 1 | 2 | 3, reason: number, name: string, meaning: string): RejectCode {
  return Object.freeze({ result, source, reason, name, meaning });
}

export const Reject = {
  /** (1,1,1) */
  NoReasonGiven: code(1, 1, 1, 'no-reason-given', 'rejected-permanent, service-user: no-reason-given'),
  /** (1,1,2) */
  ApplicationContextNotSupported: code(1, 1, 2, 'application-context-not-supported', 'rejected-permanent, service-user: application-context-name-not-supported'),
  /** (1,1,3) */
  CallingAETitleNotRecognized: code(1, 1, 3, 'calling-ae-title-not-recognized', 'rejected-permanent, service-user: calling-AE-title-not-recognized'),
  /** (1,1,7) */
  CalledAETitleNotRecognized: code(1, 1, 7, 'called-ae-title-not-recognized', 'rejected-permanent, service-user: called-AE-title-not-recognized'),
  /**
   * (1,2,1) Identity refused. The ACSE-provider source with reason 1 "no-reason-given" is
   * what dcm4chee-arc sends for a failed user identity; PS3.7 D.3.3.7.3 leaves the choice
   * to the acceptor.
   */
  IdentityRejected: code(1, 2, 1, 'identity-rejected', 'rejected-permanent, service-provider (ACSE): no-reason-given'),
  /** (1,2,2) */
  ProtocolVersionNotSupported: code(1, 2, 2, 'protocol-version-not-supported', 'rejected-permanent, service-provider (ACSE): protocol-version-not-supported'),
  /** (2,3,1): the upstream is unreachable, or the source address is blocked for a while. */
  TemporaryCongestion: code(2, 3, 1, 'temporary-congestion', 'rejected-transient, service-provider (presentation): temporary-congestion'),
  /** (2,3,2): association limits. */
  LocalLimitExceeded: code(2, 3, 2, 'local-limit-exceeded', 'rejected-transient, service-provider (presentation): local-limit-exceeded'),
} as const;

export type RejectName = (typeof Reject)[keyof typeof Reject]['name'];
