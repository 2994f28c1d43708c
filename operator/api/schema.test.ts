// The OpenAPI part of the CRD schema, checked with a JSON Schema validator: the example
// policies (api/fixtures.ts) are refused or accepted for the reason they claim, the
// defaults are the sidecar's, and the schema keeps the rules of a structural schema.
// The CEL rules and list-type keys are the API server's to check (test/cluster).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sidecarConfigSchema } from '../../sidecar/config/schema.ts';
import { withDefaults } from './defaults.ts';
import { invalidPolicies, validPolicies } from './fixtures.ts';
import type { StructuralSchema } from './structural.ts';
import { openAPIV3Schema, type DicomAccessPolicySpec } from './v1alpha1.ts';

type Node = StructuralSchema & Record<string, unknown>;

/** Every schema node with its path ("spec.peers[].name"), depth first. */
function* walk(node: Node, path = ''): Generator<[string, Node]> {
  yield [path, node];
  for (const [name, child] of Object.entries(node.properties ?? {})) yield* walk(child as Node, path ? `${path}.${name}` : name);
  if (node.items) yield* walk(node.items as Node, `${path}[]`);
  if (node.additionalProperties) yield* walk(node.additionalProperties as Node, `${path}{}`);
}

/**
 * The schema as a JSON Schema validator sees it. With `strictFields`, objects refuse
 * fields they do not declare, as the API server does with fieldValidation=Strict
 * (kubectl's default); the root metadata is left open (the API server owns it).
 */
function validator(strictFields: boolean): ValidateFunction {
  const schema = structuredClone(openAPIV3Schema) as unknown as Node;
  if (strictFields) {
    for (const [path, node] of walk(schema)) if (node.properties && path !== 'metadata') (node as Record<string, unknown>).additionalProperties = false;
  }
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
  ajv.addVocabulary(['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type']);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  return ajv.compile(schema);
}
const openapi = validator(false);
const openapiStrict = validator(true);

/** "spec.peers[0].name" as a JSON pointer. */
const pointer = (field: string) => `/${field.replace(/\[(\d+)\]/g, '.$1').split('.').join('/')}`;
/** The field an error is about (ajv names the parent object for a missing or extra field). */
function errorField(error: ErrorObject): string {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const child = params.missingProperty ?? params.additionalProperty;
  return child === undefined ? error.instancePath : `${error.instancePath}/${child}`;
}
function check(validate: ValidateFunction, policy: unknown): ErrorObject[] {
  validate(structuredClone(policy));
  return validate.errors ?? [];
}
const describe = (errors: ErrorObject[]) => errors.map((e) => `${errorField(e)}: ${e.message}`).join('; ');

for (const fixture of validPolicies) {
  test(`valid: ${fixture.name}`, () => {
    const errors = check(openapiStrict, fixture.policy);
    assert.is(errors.length, 0, describe(errors));
  });
}

for (const fixture of invalidPolicies) {
  test(`invalid (${fixture.checkedBy}): ${fixture.name}`, () => {
    const target = pointer(fixture.field);
    if (fixture.checkedBy === 'openapi') {
      const errors = check(openapi, fixture.policy);
      assert.ok(errors.length > 0, 'the schema accepts it');
      assert.equal([...new Set(errors.map(errorField))], [target], `errors elsewhere than ${target}: ${describe(errors)}`);
    } else if (fixture.checkedBy === 'strict-field-validation') {
      assert.equal(check(openapi, fixture.policy), [], 'without strict field validation the field is dropped, not refused');
      assert.equal(check(openapiStrict, fixture.policy).map(errorField), [target]);
    } else {
      // Refused by a CEL rule or a list-type key only: everything else about it is right.
      const errors = check(openapiStrict, fixture.policy);
      assert.is(errors.length, 0, describe(errors));
    }
  });
}

test('fixture names are unique, and each invalid fixture names a field under spec or metadata', () => {
  const names = [...validPolicies, ...invalidPolicies].map((f) => f.name);
  assert.equal(names.length, new Set(names).size);
  for (const f of invalidPolicies) assert.match(f.field, /^(spec|metadata)\b/, f.name);
});

test('a minimal policy gets the sidecar defaults', () => {
  const policy = structuredClone(validPolicies.find((f) => f.name === 'minimal')!.policy) as unknown as { spec: DicomAccessPolicySpec };
  assert.ok(openapi(policy));
  const sidecar = sidecarConfigSchema.parse({ apiVersion: 'dicomguard.io/v1alpha1', kind: 'SidecarConfig', calledAETitles: ['PACS'] });
  assert.equal(policy.spec, {
    selector: { matchLabels: { app: 'orthanc' } },
    calledAETitles: ['PACS'],
    listen: { port: sidecar.listen.port },
    upstream: { port: sidecar.upstream.port, connectTimeoutSeconds: sidecar.upstream.connectTimeoutSeconds },
    identity: { mode: 'Disabled', acceptUsernameOnly: false, forwardToUpstream: false },
    tls: { mode: 'Disabled', keyAlgorithm: 'RSA', clientCertificates: 'None', minVersion: 'TLSv1.2' },
    limits: sidecar.limits,
    audit: {},
    networkPolicy: { enabled: true },
    log: { level: sidecar.log.level },
  });
});

test('withDefaults fills in what a JSON Schema validator fills in', () => {
  for (const f of validPolicies) {
    const policy = structuredClone(f.policy);
    assert.ok(openapi(policy), f.name);
    assert.equal(withDefaults(f.policy.spec), policy.spec, f.name);
  }
});

test('jwt and ldap defaults are the sidecar\'s', () => {
  const policy = structuredClone(validPolicies.find((f) => f.name === 'identity-ldap-and-jwt-url')!.policy) as unknown as { spec: DicomAccessPolicySpec };
  assert.ok(openapi(policy));
  const { ldap, jwt } = policy.spec.identity;
  assert.equal({ startTLS: ldap?.startTLS, timeoutSeconds: ldap?.timeoutSeconds }, { startTLS: false, timeoutSeconds: 5 });
  assert.equal({ usernameClaim: jwt?.usernameClaim, groupsClaim: jwt?.groupsClaim, clockSkewSeconds: jwt?.clockSkewSeconds }, { usernameClaim: 'sub', groupsClaim: 'groups', clockSkewSeconds: 30 });
  assert.equal(jwt?.algorithms, ['ES256'], 'a list the user wrote is kept');
  assert.equal(policy.spec.identity.ldap?.caSecretRef, { name: 'ldap-ca', key: 'ca.crt' }, 'a Secret key defaults');
});

test('structural: every node typed, no additionalProperties beside properties, nothing preserved unknown', () => {
  for (const [path, node] of walk(openAPIV3Schema as Node)) {
    assert.ok(node.type, `${path}: no type`);
    assert.not.ok(node.properties && node.additionalProperties, `${path}: properties and additionalProperties`);
    assert.not.ok('x-kubernetes-preserve-unknown-fields' in node, `${path}: preserves unknown fields`);
    for (const name of node.required ?? []) assert.ok(node.properties?.[name], `${path}: requires undeclared ${name}`);
  }
});

test('CEL cost: every string, list and map under spec is bounded', () => {
  for (const [path, node] of walk(openAPIV3Schema.properties.spec as Node, 'spec')) {
    if (node.type === 'string') assert.ok(node.maxLength !== undefined || node.enum, `${path}: a string without maxLength`);
    if (node.type === 'array') assert.ok(node.maxItems !== undefined, `${path}: a list without maxItems`);
    if (node.additionalProperties) assert.ok(node.maxProperties !== undefined, `${path}: a map without maxProperties`);
  }
});

test('every rule explains itself; list-map keys are required', () => {
  for (const [path, node] of walk(openAPIV3Schema as Node)) {
    for (const rule of node['x-kubernetes-validations'] ?? []) assert.ok(rule.message ?? rule.messageExpression, `${path}: rule ${rule.rule} has no message`);
    for (const key of node['x-kubernetes-list-map-keys'] ?? []) assert.ok(node.items?.required?.includes(key), `${path}: list-map key ${key} is not required`);
  }
});

test('every default is valid where it stands', () => {
  const ajv = new Ajv({ strict: false });
  for (const [path, node] of walk(openAPIV3Schema as Node)) {
    if (node.default === undefined) continue;
    const validate = ajv.compile({ ...node, default: undefined });
    assert.ok(validate(structuredClone(node.default)), `${path}: default ${JSON.stringify(node.default)} is invalid`);
  }
});

test.run();
