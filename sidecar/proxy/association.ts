// One caller's connection, from TCP accept to its audit record (architecture.md, "The
// sidecar: one association's way through"). The rules it keeps:
//   - an address no peer can match is closed before a byte is read;
//   - nothing the caller sends reaches the upstream before the decision accepted it:
//     the upstream is not even contacted for a rejected association;
//   - every way out (reject, abort, release, close, reset, timeout, shutdown) ends in
//     exactly one audit record.
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { admit, screen, type Acceptance, type ClientCertificate, type Decision, type IdentityOutcome } from '../decision/decide.ts';
import { mayConnect } from '../decision/policy.ts';
import { Reject, type RejectCode } from '../decision/reject.ts';
import type { Address } from '../decision/address.ts';
import { PduError } from '../wire/errors.ts';
import { readPdu, pduName } from '../wire/reader.ts';
import { abort as abortPdu, associateReject, writePdu } from '../wire/writer.ts';
import { AbortReason, AbortSource, PduType, UserIdentityType, type AssociateAccept, type AssociateRequest, type PduTypeCode, type UserIdentityRequest } from '../wire/pdu.ts';
import type { FrameEvent } from '../wire/framer.ts';
import { MessageGuard, type MessageRefusal } from '../decision/message-guard.ts';
import { negotiate } from '../decision/negotiation.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { readOnePdu } from './read-pdu.ts';
import { Relay } from './relay.ts';
import { acceptForClient, requestForUpstream, type UpstreamIdentity } from './rewrite.ts';
import { upstreamHandshake } from '../tls/client.ts';
import type { FailedAttempts } from './failed-attempts.ts';
import type { ActiveAssociations } from './active-associations.ts';
import type { Generation } from './generation.ts';
import { establishTransport } from '../tls/handshake.ts';
import type { LockoutReporter } from '../events/recorder.ts';
import { callerOf, describeAssociation } from '../audit/association-alerts.ts';
import type { AuditTrail } from '../audit/trail.ts';

export interface AssociationEnvironment {
  readonly connectionId: string;
  /** The config generation this association lives by, to its end. */
  readonly generation: Generation;
  readonly logger: Logger;
  /** Where the audit record goes (log.ts createAuditLogger). */
  readonly auditLogger: Logger;
  readonly metrics: SidecarMetrics;
  readonly active: ActiveAssociations;
  readonly failedAttempts: FailedAttempts;
  /** Lockouts as Kubernetes Events on the pod (absent outside Kubernetes). */
  readonly lockouts?: LockoutReporter;
  /** DICOM audit messages to the audit repository (audit.syslog). */
  readonly atna?: AuditTrail;
  /** Aborted when the sidecar shuts down and the grace period is over. */
  readonly shutdown: AbortSignal;
}

/** How an association (or a connection that never became one) ended. */
export type Ending =
  | 'address-not-allowed'
  | 'rejected'
  | 'rejected-by-upstream'
  | 'released'
  | 'aborted-by-client'
  | 'aborted-by-upstream'
  | 'aborted-protocol-error'
  | 'message-refused'
  | 'artim-timeout'
  | 'idle-timeout'
  | 'shutdown'
  | 'client-closed'
  | 'upstream-closed'
  | 'client-reset'
  | 'upstream-reset'
  | 'tls-failed';

export interface AuditRecord {
  connectionId: string;
  source: { address: string; port: number | undefined };
  calledAETitle?: string;
  callingAETitle?: string;
  peer?: string;
  decision: 'accepted' | 'rejected' | 'aborted' | 'closed';
  reject?: { result: number; source: number; reason: number; name: string; meaning: string };
  why?: string;
  user?: string;
  identityType?: number;
  tls?: { version: string | null; clientCertificateSubject?: string };
  /**
   * The connection to the upstream: its local port (the source port the upstream sees,
   * which names the same association in a remote dicom-guard's audit record), and in edge
   * mode the TLS to it and the identity presented.
   */
  upstream?: { address: string; localPort: number | undefined; tls?: { version: string; serverCertificateSubject: string }; identityType?: number; user?: string };
  /** Who sent the invalid PDU that aborted the association (ended: aborted-protocol-error), or failed TLS toward the upstream (edge mode). */
  fault?: Side;
  /** The DIMSE message that ended an accepted association (ended: message-refused). */
  refusedMessage?: Omit<MessageRefusal, 'why' | 'abortReason'> & { from: Side };
  /** Every byte sent to each side: relayed, and the PDUs the sidecar wrote itself (A-ASSOCIATE-RQ/AC/RJ, A-ABORT). */
  bytes: { toUpstream: number; toClient: number };
  durationMs: number;
  ended: Ending;
}

type Side = 'client' | 'upstream';

export class Association {
  /** The caller's transport: the TCP socket, or the TLS socket over it once the handshake is done. */
  private client: Socket;
  private readonly env: AssociationEnvironment;
  private readonly started = process.hrtime.bigint();
  private readonly record: AuditRecord;
  private upstream: Socket | undefined;
  private releaseSlot: (() => void) | undefined;
  private toUpstream: Relay | undefined;
  private toClient: Relay | undefined;
  private ending: Ending | undefined;
  /**
   * False while run() is still deciding: socket closes are then noticed by the step in
   * progress (which names the ending); afterwards a close finishes the association.
   */
  private settled = false;
  private finished = false;
  private done!: () => void;
  /** Resolves once both sockets are closed and the audit record is written. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.done = resolve));

  constructor(client: Socket, env: AssociationEnvironment) {
    this.client = client;
    this.env = env;
    this.record = {
      connectionId: env.connectionId,
      source: { address: client.remoteAddress ?? '?', port: client.remotePort },
      decision: 'closed',
      bytes: { toUpstream: 0, toClient: 0 },
      durationMs: 0,
      ended: 'client-closed',
    };
    // An 'error' without a listener would crash the process; every path below also
    // learns about it through 'close' or the read outcome.
    client.on('error', (error) => this.env.logger.debug({ connectionId: env.connectionId, err: error.message }, 'client socket error'));
  }

  get peerName(): string | undefined {
    return this.record.peer;
  }

  /** Drives the connection to its end. Never throws. */
  async run(source: Address | undefined): Promise<void> {
    try {
      await this.runUnguarded(source);
    } catch (error) {
      this.env.logger.error({ connectionId: this.env.connectionId, err: error }, 'association failed unexpectedly; aborting it');
      this.terminate('aborted-protocol-error', AbortReason.NotSpecified);
    } finally {
      this.settle(); // every path has named its ending by now
    }
  }

  private async runUnguarded(source: Address | undefined): Promise<void> {
    const { generation, metrics, logger } = this.env;
    const { policy } = generation;
    const limits = policy.config.limits;
    const sourceText = source?.toString() ?? this.record.source.address;
    this.record.source.address = sourceText;
    this.client.once('close', () => this.maybeFinish());

    if (!source || !mayConnect(policy, source)) {
      metrics.connectionsClosed.inc({ reason: 'address-not-allowed' });
      this.record.why = `source address ${sourceText} is outside every peer's ipBlocks`;
      return this.close('address-not-allowed');
    }

    // ARTIM runs from accept until the whole A-ASSOCIATE-RQ is in (PS3.8 9.1.4): the TLS
    // handshake, when there is one, spends from the same budget.
    const artimEnds = Date.now() + limits.associationRequestTimeoutSeconds * 1000;
    const transport = await establishTransport(this.client, generation.tls, artimEnds - Date.now());
    let clientCertificate: ClientCertificate | undefined;
    if (transport.kind === 'failed') {
      metrics.connectionsClosed.inc({ reason: transport.timedOut ? 'artim-timeout' : 'tls-failed' });
      this.record.why = transport.why;
      return this.close(transport.timedOut ? 'artim-timeout' : 'tls-failed');
    }
    if (transport.kind === 'tls') {
      this.client = transport.socket;
      this.client.on('error', (error) => logger.debug({ connectionId: this.env.connectionId, err: error.message }, 'client TLS error'));
      this.client.once('close', () => this.maybeFinish());
      clientCertificate = transport.clientCertificate;
      this.record.tls = { version: transport.version };
      if (clientCertificate) this.record.tls.clientCertificateSubject = clientCertificate.subject;
    }

    const read = await readOnePdu(this.client, limits.maxAssociateRequestBytes, Math.max(1, artimEnds - Date.now()), this.env.shutdown);
    switch (read.kind) {
      case 'timeout':
        metrics.connectionsClosed.inc({ reason: 'artim-timeout' });
        this.record.why = `no complete A-ASSOCIATE-RQ within ${limits.associationRequestTimeoutSeconds} s (${read.received} bytes received)`;
        return this.close('artim-timeout');
      case 'closed':
      case 'error':
      case 'cancelled':
        metrics.connectionsClosed.inc({ reason: read.kind === 'cancelled' ? 'shutdown' : 'closed-before-request' });
        this.record.why = `connection ${read.kind === 'cancelled' ? 'closed for shutdown' : 'ended'} before a complete A-ASSOCIATE-RQ (${read.received} bytes received)`;
        return this.close(read.kind === 'cancelled' ? 'shutdown' : read.kind === 'error' ? 'client-reset' : 'client-closed');
      case 'invalid':
        return this.protocolError(read.error, 'A-ASSOCIATE-RQ');
    }

    if (read.header.type !== PduType.AssociateRequest) {
      // PS3.8 9.2 state Sta2: any PDU other than A-ASSOCIATE-RQ is unexpected (AA-1).
      return this.protocolError(new PduError(`expected an A-ASSOCIATE-RQ, got ${pduName(read.header.type)} (PDU type at offset 0)`, 0, AbortReason.UnexpectedPdu), 'first PDU');
    }
    let request: AssociateRequest;
    try {
      request = readPdu(read.bytes, limits.maxAssociateRequestBytes)!.pdu as AssociateRequest;
    } catch (error) {
      if (error instanceof PduError) return this.protocolError(error, 'A-ASSOCIATE-RQ');
      throw error;
    }
    this.record.calledAETitle = request.calledAETitle;
    this.record.callingAETitle = request.callingAETitle;

    const screened = screen(
      { request, source, sourceText, clientCertificate, sourceBlocked: this.env.failedAttempts.isBlocked(sourceText) },
      policy,
    );
    let decision: Decision;
    if (screened.verdict === 'reject') {
      decision = screened;
    } else {
      const offered = request.userInformation.userIdentity;
      const identity: IdentityOutcome = generation.verifier && offered ? await this.verifyIdentity(offered) : { status: 'absent' };
      if (identity.status !== 'absent' && offered) this.auditLogin(identity, offered);
      if (identity.status === 'verified') {
        this.record.user = identity.username;
        this.record.identityType = identity.identityType;
      } else if (identity.status === 'failed') {
        this.record.identityType = identity.identityType;
      }
      if (this.client.destroyed) return this.close('client-closed'); // the caller left while we verified
      // No await between admit() and reserving the slot: the limits it checked still hold.
      decision = admit(screened.candidates, { request, identity, activeAssociations: this.env.active.total, activeAssociationsOfPeer: (p) => this.env.active.of(p) }, policy);
      if (decision.verdict === 'accept') this.releaseSlot = this.env.active.reserve(decision.peer.name);
    }

    if (decision.verdict === 'reject') {
      this.record.peer = decision.peer;
      this.record.why = decision.why;
      const countsAsFailure = decision.reject !== Reject.LocalLimitExceeded && decision.reject !== Reject.TemporaryCongestion;
      if (countsAsFailure) this.countRefusal();
      return this.rejectAssociation(decision.reject);
    }

    this.record.peer = decision.peer.name;
    await this.relayAssociation(request, decision, read.rest);
  }

  /** User Authentication (PS3.15 A.5.3.12) for the audit repository: the verified user, or the one a type 1 or 2 identity claimed. */
  private auditLogin(identity: Exclude<IdentityOutcome, { status: 'absent' }>, offered: UserIdentityRequest): void {
    // A claimed name is the caller's bytes: at most 256 characters of it go into the message.
    const claimed = offered.identityType === UserIdentityType.Username || offered.identityType === UserIdentityType.UsernameAndPasscode ? new TextDecoder().decode(offered.primaryField).slice(0, 256) : undefined;
    const remote = callerOf(this.record);
    if (identity.status === 'verified') this.env.atna?.identityChecked('verified', identity.username, remote);
    else this.env.atna?.identityChecked('failed', claimed, remote, identity.why);
  }

  /** Verify the identity sub-item; abandoned when the caller leaves or the sidecar shuts down. */
  private async verifyIdentity(offered: UserIdentityRequest): Promise<IdentityOutcome> {
    const verifier = this.env.generation.verifier!;
    const gone = new AbortController();
    const onGone = () => gone.abort();
    this.client.once('close', onGone);
    this.env.shutdown.addEventListener('abort', onGone, { once: true });
    try {
      return await verifier.verify(offered, { connectionId: this.env.connectionId, signal: gone.signal });
    } finally {
      this.client.off('close', onGone);
      this.env.shutdown.removeEventListener('abort', onGone);
    }
  }

  private async relayAssociation(request: AssociateRequest, acceptance: Acceptance, pending: Buffer): Promise<void> {
    const { metrics } = this.env;
    const { policy } = this.env.generation;
    const target = policy.config.upstream;
    const limits = policy.config.limits;
    const peer = acceptance.peer.name;
    metrics.activeAssociations.inc({ peer });

    const upstream = await this.connectUpstream(target.host, target.port, target.connectTimeoutSeconds * 1000);
    if (!upstream) return; // rejected or closed inside
    this.upstream = upstream;
    upstream.once('close', (hadError) => this.onUpstreamClosed(hadError));

    const own = this.env.generation.upstream.identity;
    const identity: UpstreamIdentity = own ? { kind: 'replace', identity: own } : { kind: policy.config.identity.forwardToUpstream ? 'forward' : 'strip' };
    if (own) this.record.upstream = { ...this.record.upstream!, identityType: own.identityType, ...(target.identity?.username ? { user: target.identity.username } : {}) };
    const forwarded = requestForUpstream(request, acceptance, identity);
    this.send('upstream', upstream, writePdu(forwarded));
    const answer = await readOnePdu(upstream, limits.maxAssociateRequestBytes, limits.associationRequestTimeoutSeconds * 1000, this.env.shutdown);
    if (answer.kind !== 'pdu') {
      this.record.why = answer.kind === 'invalid' ? `upstream answered with an invalid PDU: ${answer.error.message}` : `upstream gave no answer to the A-ASSOCIATE-RQ (${answer.kind})`;
      this.record.decision = 'aborted';
      return this.terminate(answer.kind === 'cancelled' ? 'shutdown' : 'upstream-closed', AbortReason.NotSpecified);
    }
    if (this.client.destroyed) {
      this.record.decision = 'aborted';
      this.record.why = 'the caller left before the upstream answered';
      return this.terminate('client-reset', AbortReason.NotSpecified);
    }
    let accept: AssociateAccept;
    try {
      const pdu = readPdu(answer.bytes, limits.maxAssociateRequestBytes)!.pdu;
      if (pdu.type === PduType.AssociateReject || pdu.type === PduType.Abort) {
        // The PACS said no itself: relay its answer unchanged.
        this.record.decision = 'rejected';
        this.record.why = pdu.type === PduType.AssociateReject ? `upstream rejected the association (${pdu.result},${pdu.source},${pdu.reason})` : `upstream aborted the association (source ${pdu.source}, reason ${pdu.reason})`;
        if (pdu.type === PduType.AssociateReject) this.record.reject = { result: pdu.result, source: pdu.source, reason: pdu.reason, name: 'upstream-rejected', meaning: 'rejected by the upstream' };
        metrics.associations.inc({ peer, decision: 'rejected', reason: 'upstream-rejected' });
        this.send('client', this.client, answer.bytes, { end: true });
        this.closeSoon(this.client);
        upstream.end();
        this.ending = 'rejected-by-upstream';
        return this.settle();
      }
      if (pdu.type !== PduType.AssociateAccept) {
        throw new PduError(`upstream answered the A-ASSOCIATE-RQ with ${pduName(pdu.type)}`, 0, AbortReason.UnexpectedPdu);
      }
      accept = pdu;
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      this.record.decision = 'aborted';
      this.record.why = `upstream answered with an invalid PDU: ${error.message}`;
      return this.terminate('aborted-protocol-error', error.abortReason, 'upstream');
    }

    if (own?.positiveResponseRequested && accept.userInformation.userIdentityServerResponse === undefined) {
      // PS3.7 D.3.3.7.2: no 0x59 sub-item means the acceptor did not verify the identity.
      this.record.why = 'the upstream accepted without confirming the user identity the sidecar presented (upstream.identity.positiveResponseRequested)';
      this.send('upstream', upstream, abortPdu(AbortSource.ServiceUser, 0), { end: true });
      this.closeSoon(upstream);
      return this.rejectAssociation(Reject.TemporaryCongestion);
    }
    this.record.decision = 'accepted';
    metrics.associations.inc({ peer, decision: 'accepted', reason: '' });
    const acceptForCaller = acceptForClient(accept, request, acceptance, identity);
    const toClientBytes = writePdu(acceptForCaller);
    metrics.setupSeconds.observe({ peer }, Number(process.hrtime.bigint() - this.started) / 1e9);

    // From here on bytes flow both ways, PDU boundaries tracked, backpressure kept, and
    // every DIMSE message held to what the contexts were negotiated for: the RQ as the
    // caller sent it and the AC as it received it.
    const negotiated = negotiate(request, acceptForCaller);
    const rules = { peer, services: acceptance.peer.services, moveDestinations: acceptance.peer.moveDestinations };
    const fromUpstream = new MessageGuard(negotiated, 'acceptor', rules);
    const fromClient = new MessageGuard(negotiated, 'requestor', rules);
    const maxPdu = limits.maxPduBytes;
    // The label sets looked up once: onBytes runs for every chunk relayed.
    const bytesToClient = metrics.bytes.labels({ peer, direction: 'to_client' });
    const bytesToUpstream = metrics.bytes.labels({ peer, direction: 'to_upstream' });
    this.toClient = new Relay(upstream, this.client, maxPdu, {
      onFrame: (event) => this.onFrame('upstream', fromUpstream, event),
      onBytes: (n) => {
        this.record.bytes.toClient += n;
        bytesToClient.inc(n);
      },
      onInvalid: (error) => this.onInvalidRelayed('upstream', error),
      onEnd: () => this.onSideEnded('upstream'),
    });
    this.toUpstream = new Relay(this.client, upstream, maxPdu, {
      onFrame: (event) => this.onFrame('client', fromClient, event),
      onBytes: (n) => {
        this.record.bytes.toUpstream += n;
        bytesToUpstream.inc(n);
      },
      onInvalid: (error) => this.onInvalidRelayed('client', error),
      onEnd: () => this.onSideEnded('client'),
    });
    this.send('client', this.client, toClientBytes);
    this.client.setTimeout(limits.idleTimeoutSeconds * 1000, () => {
      this.record.why = `no traffic for ${limits.idleTimeoutSeconds} s (limits.idleTimeoutSeconds)`;
      this.terminate('idle-timeout', AbortReason.NotSpecified);
    });
    this.toClient.start(answer.rest);
    this.toUpstream.start(pending);
    // Removed when the association ends: the shutdown signal lives as long as the process,
    // and a listener left on it would keep every association ever relayed in memory.
    const onShutdown = () => this.terminate('shutdown', AbortReason.NotSpecified);
    this.env.shutdown.addEventListener('abort', onShutdown, { once: true });
    void this.closed.then(() => this.env.shutdown.removeEventListener('abort', onShutdown));
    if (this.env.shutdown.aborted) this.terminate('shutdown', AbortReason.NotSpecified);
    this.settle();
  }

  private releaseRequested = false;
  private releaseAnswered = false;

  /** Everything the framer reports of one side's stream: PDU order (PS3.8 9.2), then the message guard. */
  private onFrame(from: Side, guard: MessageGuard, event: FrameEvent): PduError | undefined {
    if (event.kind === 'pdu') {
      const problem = this.onPdu(from, event.type);
      if (problem) return new PduError(`${problem} (stream offset ${event.offsetInStream})`, event.offsetInStream, AbortReason.UnexpectedPdu);
    }
    const refusal = guard.inspect(event);
    if (!refusal) return undefined;
    const { why, abortReason, ...message } = refusal;
    this.record.refusedMessage = { from, ...message };
    return new PduError(why, event.offsetInStream, abortReason);
  }

  private onPdu(from: Side, type: PduTypeCode): string | undefined {
    switch (type) {
      case PduType.DataTransfer:
        return undefined;
      case PduType.ReleaseRequest:
        this.releaseRequested = true;
        return undefined;
      case PduType.ReleaseResponse:
        if (this.releaseRequested) this.releaseAnswered = true;
        return undefined;
      case PduType.Abort:
        this.ending ??= from === 'client' ? 'aborted-by-client' : 'aborted-by-upstream';
        return undefined;
      default:
        // PS3.8 9.2 state Sta6: A-ASSOCIATE-RQ/AC/RJ during an established association is unexpected (AA-8).
        return `${pduName(type)} during an established association`;
    }
  }

  private onInvalidRelayed(from: Side, error: PduError): void {
    const refused = this.record.refusedMessage;
    if (refused) {
      // Nothing of the message reached the other side (the relay holds a command until it is checked).
      this.record.why = error.message;
      this.env.metrics.messagesRefused.inc({ peer: this.record.peer ?? '', from, rule: refused.rule, command: refused.command ?? '' });
      this.env.logger.warn({ connectionId: this.env.connectionId, from, rule: refused.rule, command: refused.command, presentationContextId: refused.presentationContextId }, `DIMSE message refused; aborting the association: ${error.message}`);
      if (from === 'client') this.countRefusal();
      return this.terminate('message-refused', error.abortReason, from);
    }
    this.record.why = `${from} sent an invalid PDU: ${error.message}`;
    this.record.fault = from;
    this.env.logger.warn({ connectionId: this.env.connectionId, from, err: error.message }, 'invalid PDU during the association; aborting it');
    this.terminate('aborted-protocol-error', error.abortReason, from);
  }

  /** One side's FIN: passed on, unless the PACS leaves an association that was neither released nor aborted. */
  private onSideEnded(from: Side): void {
    if (from === 'client') {
      this.ending ??= this.releaseAnswered ? 'released' : 'client-closed';
      this.upstream?.end();
      return;
    }
    if (!this.ending && !this.releaseAnswered) {
      // PS3.8 9.2 (AA-4, A-P-ABORT): the caller learns of it as an A-ABORT at a PDU boundary, not a bare close.
      this.record.why = 'the PACS closed its connection in the middle of the association, without A-RELEASE-RP or A-ABORT';
      return this.terminate('upstream-closed', AbortReason.NotSpecified);
    }
    this.ending ??= 'released';
    this.client.end();
  }

  /** The PACS connection closed; after a reset no FIN came first, so the caller has heard nothing yet. */
  private onUpstreamClosed(hadError: boolean): void {
    if (this.settled && !this.finished && !this.ending && !this.releaseAnswered && this.toClient && !this.client.destroyed) {
      this.record.why = hadError ? 'the connection to the PACS was reset in the middle of the association' : 'the PACS closed its connection in the middle of the association';
      this.terminate(hadError ? 'upstream-reset' : 'upstream-closed', AbortReason.NotSpecified);
    }
    this.maybeFinish();
  }

  /** Connect to the PACS; on failure the caller gets A-ASSOCIATE-RJ (2,3,1). */
  private async connectUpstream(host: string, port: number, timeoutMs: number): Promise<Socket | undefined> {
    const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
    const failure = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(`no connection to upstream ${host}:${port} within ${timeoutMs / 1000} s`), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        resolve(`upstream ${host}:${port} refused: ${error.message}`);
      });
    });
    const logError = (error: Error) => this.env.logger.debug({ connectionId: this.env.connectionId, err: error.message }, 'upstream socket error');
    socket.on('error', logError);
    if (failure) return this.upstreamFailed(socket, host, port, failure);
    this.record.upstream = { address: host, localPort: socket.localPort };
    const tls = this.env.generation.upstream.tls;
    if (!tls) return socket;
    // Edge mode: nothing is sent before the remote proved its name (tls/upstream.ts).
    const handshake = await upstreamHandshake(socket, tls, timeoutMs);
    if (!handshake.ok) {
      // The remote did not prove who it is: a failed node authentication, of the upstream.
      this.record.fault = 'upstream';
      return this.upstreamFailed(socket, host, port, `upstream ${host}:${port} TLS: ${handshake.why}`);
    }
    handshake.socket.on('error', logError);
    this.record.upstream.tls = { version: handshake.version, serverCertificateSubject: handshake.serverCertificateSubject };
    return handshake.socket;
  }

  /** No usable connection to the upstream: the caller gets A-ASSOCIATE-RJ (2,3,1) and the audit says why. */
  private upstreamFailed(socket: Socket, host: string, port: number, failure: string): undefined {
    socket.destroy();
    this.record.why = failure;
    this.record.decision = 'rejected';
    this.env.logger.error({ connectionId: this.env.connectionId, upstream: `${host}:${port}` }, failure);
    this.rejectAssociation(Reject.TemporaryCongestion);
    return undefined;
  }

  private rejectAssociation(code: RejectCode): void {
    this.record.decision = 'rejected';
    this.record.reject = { result: code.result, source: code.source, reason: code.reason, name: code.name, meaning: code.meaning };
    this.env.metrics.associations.inc({ peer: this.record.peer ?? '', decision: 'rejected', reason: code.name });
    this.ending = 'rejected';
    // PS3.8 9.2 AE-8: send A-ASSOCIATE-RJ, then the requestor closes; ARTIM bounds the wait.
    this.send('client', this.client, associateReject(code.result, code.source, code.reason), { end: true });
    this.closeSoon(this.client);
    this.settle();
  }

  private protocolError(error: PduError, what: string): void {
    this.record.decision = 'aborted';
    this.record.why = `invalid ${what}: ${error.message}`;
    this.record.fault = 'client';
    this.env.metrics.associations.inc({ peer: '', decision: 'aborted', reason: `abort-reason-${error.abortReason}` });
    this.countRefusal();
    this.ending = 'aborted-protocol-error';
    // PS3.8 9.2 AA-8: A-ABORT with the service-provider source and the reason, then close.
    this.send('client', this.client, abortPdu(AbortSource.ServiceProvider, error.abortReason), { end: true });
    this.closeSoon(this.client);
    this.settle();
  }

  /**
   * Abort a relayed association from the middle: each side gets an A-ABORT when the
   * bytes sent to it so far end on a PDU boundary (an A-ABORT spliced into a PDU would
   * be garbage); otherwise its connection is simply closed. The side at fault hears
   * `reason`; the other side "reason-not-specified" (PS3.8 Table 9-26).
   */
  terminate(ending: Ending, reason: number, atFault?: 'client' | 'upstream'): void {
    if (this.finished) return;
    if (!this.ending || ending === 'shutdown' || ending === 'idle-timeout' || ending === 'aborted-protocol-error' || ending === 'message-refused') this.ending = ending;
    this.toUpstream?.stop();
    this.toClient?.stop();
    const sides: [Side, Socket | undefined, Relay | undefined][] = [
      ['client', this.client, this.toClient],
      ['upstream', this.upstream, this.toUpstream],
    ];
    for (const [side, socket, relay] of sides) {
      if (!socket || socket.destroyed) continue;
      const abortBytes = abortPdu(AbortSource.ServiceProvider, atFault === undefined || side === atFault ? reason : AbortReason.NotSpecified);
      if (relay === undefined || relay.atPduBoundary) this.send(side, socket, abortBytes, { end: true });
      else socket.destroy();
      this.closeSoon(socket);
    }
    this.settle();
  }

  /** Everything the sidecar sends goes through here, so the audit record counts it. */
  private send(side: Side, socket: Socket, bytes: Uint8Array, options: { end?: boolean } = {}): void {
    if (side === 'client') this.record.bytes.toClient += bytes.length;
    else this.record.bytes.toUpstream += bytes.length;
    if (options.end) socket.end(bytes);
    else socket.write(bytes);
  }

  /**
   * limits.failedAttempts: one more refusal from this source. A block it starts is made
   * visible (a metric, the dicomguard_blocked_sources gauge, a log record with event
   * "source-blocked", an Event on the pod): anything refused counts, a port scan's
   * non-DICOM probes too.
   */
  private countRefusal(): void {
    const source = this.record.source.address;
    if (!this.env.failedAttempts.recordRefusal(source)) return;
    const { failedAttempts } = this.env.generation.policy.config.limits;
    this.env.metrics.sourcesBlocked.inc();
    this.env.logger.warn({ event: 'source-blocked', source, limits: failedAttempts }, `source address ${source} blocked for ${failedAttempts.blockSeconds} s after ${failedAttempts.max} refused connections within ${failedAttempts.windowSeconds} s`);
    const { callingAETitle, why } = this.record;
    const lockout = { source, ...failedAttempts, lastRefusal: why ?? 'refused', ...(callingAETitle ? { callingAETitle } : {}) };
    this.env.lockouts?.report(lockout);
    this.env.atna?.sourceBlocked(lockout);
  }

  private close(ending: Ending): void {
    this.ending = ending;
    this.client.destroy();
    this.settle();
  }

  private settle(): void {
    this.settled = true;
    this.maybeFinish();
  }

  /**
   * After our last word (A-ASSOCIATE-RJ, A-ABORT, our FIN) the peer is expected to close
   * the transport; ARTIM bounds how long we wait for it (PS3.8 9.2, actions AA-1, AE-8).
   * Whatever it sends meanwhile is read and dropped (Sta13 ignores PDUs, AA-6): a paused
   * socket would never read the peer's FIN, and the audit record would wait for ARTIM.
   */
  private closeSoon(socket: Socket): void {
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), this.env.generation.policy.config.limits.associationRequestTimeoutSeconds * 1000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  private maybeFinish(): void {
    if (this.finished || !this.settled) return;
    if (!this.client.destroyed && !this.client.closed) return;
    if (this.upstream && !this.upstream.closed) {
      // The caller is gone; the PACS side must not linger half-open. Nothing more is relayed to the caller.
      this.toClient?.stop();
      if (!this.upstream.writableEnded) this.upstream.end();
      this.closeSoon(this.upstream);
      return;
    }
    this.finished = true;
    this.toUpstream?.stop();
    this.toClient?.stop();
    if (this.releaseSlot) {
      this.releaseSlot();
      this.env.metrics.activeAssociations.dec({ peer: this.record.peer ?? '' });
    }
    this.record.ended = this.ending ?? 'client-closed';
    this.record.durationMs = Math.round(Number(process.hrtime.bigint() - this.started) / 1e6);
    this.env.auditLogger.info({ audit: 'association', ...this.record }, describeAssociation(this.record));
    this.env.atna?.associationEnded(this.record);
    this.done();
  }
}

