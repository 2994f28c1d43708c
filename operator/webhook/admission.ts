// The AdmissionReview v1 exchange of the mutating webhook (admission.k8s.io/v1): the
// request's pod in, the injection report's patch out. Pure apart from the policy lookup
// it is given.
import type { V1Pod } from '@kubernetes/client-node';
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import { injectionReport, type InjectionReport, type InjectionSettings } from './inject.ts';

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  operation?: string;
  namespace?: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: string;
  request?: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export type PoliciesOf = (namespace: string) => readonly Pick<DicomAccessPolicy, 'metadata' | 'spec'>[];

export interface Admission {
  review: { apiVersion: 'admission.k8s.io/v1'; kind: 'AdmissionReview'; response: AdmissionResponse };
  /** Undefined when the request was not a pod creation (nothing to decide). */
  report?: InjectionReport;
  namespace?: string;
}

/** Answer one AdmissionReview. Throws only for a review that is not one (the server answers 400). */
export function admit(review: AdmissionReview, policiesOf: PoliciesOf, settings: InjectionSettings): Admission {
  if (review?.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview' || typeof review.request?.uid !== 'string') {
    throw new TypeError('expected an admission.k8s.io/v1 AdmissionReview with a request.uid');
  }
  const request = review.request;
  const answer = (response: Omit<AdmissionResponse, 'uid'>): Admission['review'] => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request.uid, ...response } });
  const isPodCreate = request.kind?.group === '' && request.kind.kind === 'Pod' && request.operation === 'CREATE';
  if (!isPodCreate || typeof request.object !== 'object' || request.object === null) return { review: answer({ allowed: true }) };

  const pod = request.object as V1Pod;
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const report = injectionReport(pod, namespace, policiesOf(namespace), settings);
  if (!report.inject) {
    const warnings = report.reason === 'opted-out' || report.reason === 'host-network' ? [report.message] : undefined;
    return { review: answer({ allowed: true, ...(warnings ? { warnings } : {}) }), report, namespace };
  }
  return {
    review: answer({
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(report.patch)).toString('base64'),
      ...(report.reason === 'policy-conflict' ? { warnings: [report.message] } : {}),
    }),
    report,
    namespace,
  };
}
