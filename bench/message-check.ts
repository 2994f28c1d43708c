// The per-message check's own cost, in process (issue 14): a stream of small C-STORE
// messages (a command PDU and an 8 KiB data set PDU each, as storescu sends them) read in
// 64 KiB chunks by the relay's framer, once with its events dropped and once with every
// event inspected by the MessageGuard of an association that accepted the storage context.
// The difference is what checking adds per message (assembling and reading the command
// set, the context and sequence checks, the rules), without the sockets, the client and
// the sink that make the end-to-end figure noisy on two cores.
import { PduFramer } from '../sidecar/wire/framer.ts';
import { MessageGuard } from '../sidecar/decision/message-guard.ts';
import type { Negotiated } from '../sidecar/decision/negotiation.ts';
import { storeRequest, type SmallObject } from './dimse.ts';
import { summarize, type Summary } from './statistics.ts';

export interface MessageCheckResult {
  messages: number;
  bytesPerMessage: number;
  rounds: number;
  /** Nanoseconds per message: framing alone, framing with the guard, and the difference. */
  framingNs: Summary;
  checkedNs: Summary;
  checkNs: number;
}

const CHUNK = 64 * 1024;
const MAX_PDU = 16384;
const STORE_CONTEXT = 3;

function streamOf(object: SmallObject, messages: number): Buffer[] {
  const bytes = Buffer.concat(Array.from({ length: messages }, (_, i) => Buffer.concat(storeRequest(STORE_CONTEXT, i + 1, object, MAX_PDU))));
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  return chunks;
}

function run(chunks: readonly Buffer[], guard: MessageGuard | undefined): number {
  const framer = new PduFramer(MAX_PDU);
  const started = process.hrtime.bigint();
  let events = 0;
  for (const chunk of chunks) {
    for (const event of framer.push(chunk)) {
      events++;
      if (guard?.inspect(event)) throw new Error(`the guard refused a message it should allow (event ${events})`);
    }
  }
  return Number(process.hrtime.bigint() - started);
}

export function measureMessageCheck(object: SmallObject, options: { messages: number; rounds: number }): MessageCheckResult {
  const { messages, rounds } = options;
  const chunks = streamOf(object, messages);
  const negotiated: Negotiated = {
    accepted: new Map([[STORE_CONTEXT, { id: STORE_CONTEXT, abstractSyntax: object.sopClassUid, requestor: { scu: true, scp: false } }]]),
    proposed: new Set([STORE_CONTEXT]),
  };
  const rules = { peer: 'bench', services: ['storage'], moveDestinations: undefined };
  const framing: number[] = [];
  const checked: number[] = [];
  // The first rounds warm the JIT; alternating keeps a slow moment from landing on one side only.
  for (let round = 0; round < rounds + 2; round++) {
    const plain = run(chunks, undefined) / messages;
    const guarded = run(chunks, new MessageGuard(negotiated, 'requestor', rules)) / messages;
    if (round < 2) continue;
    framing.push(plain);
    checked.push(guarded);
  }
  const framingNs = summarize(framing);
  const checkedNs = summarize(checked);
  return {
    messages,
    bytesPerMessage: chunks.reduce((sum, c) => sum + c.length, 0) / messages,
    rounds,
    framingNs,
    checkedNs,
    checkNs: checkedNs.median - framingNs.median,
  };
}
