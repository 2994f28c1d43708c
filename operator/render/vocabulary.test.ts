// One vocabulary (api.md): every SidecarConfig field is a DicomAccessPolicy field too, or
// one the operator fills in (listed here with what stands for it). A field added to the
// sidecar's schema and not to the CRD stops this file from compiling (tsc runs on tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SidecarConfig } from '../../sidecar/config/schema.ts';
import type { DicomAccessPolicySpec } from '../api/v1alpha1.ts';

type Spec = DicomAccessPolicySpec;
type Sidecar = SidecarConfig;
/** Sidecar fields of a block that the policy's block lacks, less those the operator fills in. */
type Unmatched<S, P, OperatorFilled extends string = never> = Exclude<keyof S, keyof NonNullable<P> | OperatorFilled>;

// Compiles only when T is never.
function none<T extends never>(): T[] {
  return [];
}

test('every SidecarConfig field has its DicomAccessPolicy counterpart', () => {
  const unmatched = [
    ...none<Unmatched<Sidecar, Spec, 'apiVersion' | 'kind' | 'admin'>>(), // admin: RenderSettings.adminPort
    ...none<Unmatched<Sidecar['listen'], Spec['listen'], 'host'>>(), // "::"
    ...none<Unmatched<Sidecar['upstream'], Spec['upstream']>>(),
    ...none<Unmatched<NonNullable<Sidecar['upstream']['tls']>, Spec['upstream']['tls'], 'caFile' | 'certFile' | 'keyFile'>>(), // caSecretRef; clientCertificate: the pod's Certificate
    ...none<Unmatched<NonNullable<Sidecar['upstream']['identity']>, Spec['upstream']['identity'], 'passcodeFile' | 'jwtFile'>>(), // passcodeSecretRef, jwtSecretRef
    ...none<Unmatched<Sidecar['peers'][number], NonNullable<Spec['peers']>[number]>>(),
    ...none<Unmatched<Sidecar['identity'], Spec['identity'], 'htpasswd'>>(), // htpasswdSecretRef
    ...none<Unmatched<NonNullable<Sidecar['identity']['ldap']>, Spec['identity']['ldap'], 'caFile'>>(), // caSecretRef
    ...none<Unmatched<NonNullable<Sidecar['identity']['jwt']>, Spec['identity']['jwt'], 'jwksFile'>>(), // jwksSecretRef
    ...none<Unmatched<Sidecar['tls'], Spec['tls'], 'certFile' | 'keyFile' | 'clientCAFile'>>(), // the Certificate; clientCASecretRef
    ...none<Unmatched<Sidecar['limits'], Spec['limits']>>(),
    ...none<Unmatched<Sidecar['audit'], Spec['audit']>>(),
    ...none<Unmatched<NonNullable<Sidecar['audit']['syslog']>, Spec['audit']['syslog'], 'caFile' | 'certFile' | 'keyFile' | 'auditSourceId'>>(), // caSecretRef; clientCertificate; the pod's name
    ...none<Unmatched<Sidecar['limits']['failedAttempts'], Spec['limits']['failedAttempts']>>(),
    ...none<Unmatched<Sidecar['log'], Spec['log']>>(),
  ];
  assert.equal(unmatched, []);
});

test.run();
