// Whether the operator should build its desired objects with cdk8s at reconcile time
// (issue 13): the same 1000 policies of the scale world rendered the way the operator
// does (render/desired.ts: plain objects, typed by client-node's models and cert-manager's
// schema) and the cdk8s way (an App and a Chart per reconcile, each object an ApiObject,
// synthesized with toJson). Both produce the same objects; what differs is the CPU time
// per reconcile, which a resync of 1000 policies pays 1000 times.
// In this process, after the bench's control plane work: no API server involved.
import { ApiObject, App, Chart } from 'cdk8s';
import { isDeepStrictEqual } from 'node:util';
import { asStored } from '../operator/api/defaults.ts';
import type { DicomAccessPolicyInput } from '../operator/api/v1alpha1.ts';
import { desiredObjects, type DesiredObjects } from '../operator/render/desired.ts';
import type { World } from './operator-world.ts';

export interface RenderComparison {
  policies: number;
  /** Microseconds per policy, median of the rounds. */
  plainMicroseconds: number;
  cdk8sMicroseconds: number;
  /** Whether both ways gave the same JSON for every policy. */
  sameObjects: boolean;
}

function objectsOf(desired: DesiredObjects): Record<string, unknown>[] {
  return [desired.networkPolicy, desired.certificate, desired.configMap, desired.identitySecret, desired.roleBinding].filter((o): o is NonNullable<typeof o> => o !== undefined) as unknown as Record<string, unknown>[];
}

/** One reconcile's objects the cdk8s way: a new App and Chart, one ApiObject each, then toJson. */
function viaCdk8s(desired: DesiredObjects): Record<string, unknown>[] {
  const app = new App();
  const chart = new Chart(app, 'policy');
  for (const [i, object] of objectsOf(desired).entries()) {
    const { apiVersion, kind, metadata, ...rest } = object as { apiVersion: string; kind: string; metadata: Record<string, unknown> };
    new ApiObject(chart, `o${i}`, { apiVersion, kind, metadata, ...rest });
  }
  return chart.toJson() as Record<string, unknown>[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export function compareRendering(world: World, rounds = 5): RenderComparison {
  const secretData = new Map<string, Record<string, string>>();
  for (const secret of world.secrets) secretData.set(`${secret.metadata?.namespace}/${secret.metadata?.name}`, (secret as { data?: Record<string, string> }).data ?? {});
  const inputs = world.policies.map((p) => {
    const policy = asStored(p.manifest as unknown as DicomAccessPolicyInput, { uid: `uid-${p.name}`, creationTimestamp: '2026-01-01T00:00:00Z' });
    const secrets = Object.fromEntries([...secretData].filter(([key]) => key.startsWith(`${p.namespace}/`)).map(([key, data]) => [key.slice(p.namespace.length + 1), data]));
    return { policy, peerPods: {}, secrets, sidecarServiceAccounts: ['default'] };
  });
  const sameObjects = inputs.every((input) => {
    const desired = desiredObjects(input);
    // cdk8s adds its own label-free metadata order and may drop undefined: compare as JSON would.
    return isDeepStrictEqual(JSON.parse(JSON.stringify(objectsOf(desired))), JSON.parse(JSON.stringify(viaCdk8s(desired))));
  });
  // Alternating rounds, so that neither way runs on a warmer process than the other.
  const measure = (render: (input: (typeof inputs)[number]) => unknown) => {
    const started = process.hrtime.bigint();
    for (const input of inputs) render(input);
    return Number(process.hrtime.bigint() - started) / 1000 / inputs.length;
  };
  const plainTimes: number[] = [];
  const cdk8sTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    plainTimes.push(measure((input) => objectsOf(desiredObjects(input))));
    cdk8sTimes.push(measure((input) => viaCdk8s(desiredObjects(input))));
  }
  return { policies: inputs.length, plainMicroseconds: median(plainTimes), cdk8sMicroseconds: median(cdk8sTimes), sameObjects };
}
