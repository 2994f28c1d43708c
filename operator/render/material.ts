// The identity material a policy references (Secrets in its namespace), and the identity
// Secret the operator writes for the sidecar with exactly that material in it.
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import type { RenderProblem } from './errors.ts';
import { IDENTITY_KEYS, type IdentityMaterial } from './mounts.ts';

export interface SecretReference {
  readonly material: IdentityMaterial;
  /** The policy field that names it, for messages. */
  readonly field: string;
  readonly name: string;
  readonly key: string;
}

/**
 * The Secrets the operator reads for a policy: name -> the Secret's `data` (base64
 * values, as the API server returns them); a missing name is a Secret that does not exist.
 */
export type ReferencedSecrets = Readonly<Record<string, Readonly<Record<string, string>> | undefined>>;

/** Every Secret key the policy references, in a fixed order. */
export function referencedSecrets(policy: Pick<DicomAccessPolicy, 'spec'>): SecretReference[] {
  const { identity, tls, upstream, audit } = policy.spec;
  const refs: SecretReference[] = [];
  const add = (material: IdentityMaterial, field: string, ref: { name: string; key: string } | undefined) => {
    if (ref) refs.push({ material, field, name: ref.name, key: ref.key });
  };
  add('htpasswd', 'spec.identity.htpasswdSecretRef', identity.htpasswdSecretRef);
  add('jwks', 'spec.identity.jwt.jwksSecretRef', identity.jwt?.jwksSecretRef);
  add('ldapCA', 'spec.identity.ldap.caSecretRef', identity.ldap?.caSecretRef);
  add('clientCA', 'spec.tls.clientCASecretRef', tls.clientCASecretRef);
  add('upstreamCA', 'spec.upstream.tls.caSecretRef', upstream.tls?.caSecretRef);
  add('upstreamPasscode', 'spec.upstream.identity.passcodeSecretRef', upstream.identity?.passcodeSecretRef);
  add('upstreamJwt', 'spec.upstream.identity.jwtSecretRef', upstream.identity?.jwtSecretRef);
  add('auditCA', 'spec.audit.syslog.caSecretRef', audit.syslog?.caSecretRef);
  return refs;
}

export type MaterialResult = { readonly data: Record<string, string>; readonly problems: readonly [] } | { readonly data?: undefined; readonly problems: readonly RenderProblem[] };

/** The identity Secret's data (key per IDENTITY_KEYS, base64 as read), or what is missing. */
export function identityMaterial(policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>, secrets: ReferencedSecrets): MaterialResult {
  const data: Record<string, string> = {};
  const problems: RenderProblem[] = [];
  const namespace = policy.metadata.namespace;
  for (const ref of referencedSecrets(policy)) {
    const secret = secrets[ref.name];
    const value = secret?.[ref.key];
    if (!secret) problems.push({ reason: 'SecretNotFound', message: `Secret ${namespace}/${ref.name} (${ref.field}) does not exist` });
    else if (value === undefined) problems.push({ reason: 'SecretKeyNotFound', message: `Secret ${namespace}/${ref.name} has no key "${ref.key}" (${ref.field})` });
    else if (value === '') problems.push({ reason: 'SecretKeyEmpty', message: `Secret ${namespace}/${ref.name} key "${ref.key}" is empty (${ref.field})` });
    else data[IDENTITY_KEYS[ref.material]] = value;
  }
  return problems.length ? { problems } : { data, problems: [] };
}
