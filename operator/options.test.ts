// The operator's flags, and the RBAC rules it runs under.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RESOURCES } from './kube/resources.ts';
import { parseDuration, parseOperatorArgs, UsageError } from './options.ts';
import { asPolicyRules, CLUSTER_RULES, leaseRules, SIDECAR_RULES, sidecarBindRules, webhookRules } from './rbac.ts';
import { DEFAULT_INJECTION_SETTINGS } from './webhook/inject.ts';

test('defaults: every namespace, no leader election, client-go timings, ports 8080/8081', () => {
  const options = parseOperatorArgs([], { POD_NAME: 'dicom-guard-7d9f' });
  assert.equal(
    { ...options, identity: options.identity.replace(/_[0-9a-f-]{36}$/, '_UUID') },
    {
      leaderElect: false,
      leaseName: 'dicom-guard-operator',
      identity: 'dicom-guard-7d9f_UUID',
      timing: { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
      bindAddress: '::',
      metricsPort: 8080,
      healthPort: 8081,
      workers: 4,
      resyncSeconds: 600,
      injection: DEFAULT_INJECTION_SETTINGS,
      render: { adminPort: 9095, certificateDuration: '2160h', certificateRenewBefore: '720h', sidecarClusterRole: 'dicom-guard-sidecar' },
      logLevel: 'info',
    },
  );
});

test('every flag', () => {
  const options = parseOperatorArgs(
    [
      '--kubeconfig=/k',
      '--namespace=imaging',
      '--leader-elect',
      '--lease-name=l',
      '--lease-namespace=ops',
      '--leader-elect-identity=me',
      '--lease-duration=30s',
      '--renew-deadline=20s',
      '--retry-period=4s',
      '--bind-address=127.0.0.1',
      '--metrics-port=9000',
      '--health-port=9000',
      '--workers=2',
      '--resync-period=1m30s',
      '--sidecar-image=registry.example.org/dicom-guard:1.0',
      '--sidecar-image-pull-policy=Always',
      '--sidecar-cpu-request=100m',
      '--sidecar-memory-request=128Mi',
      '--sidecar-memory-limit=512Mi',
      '--sidecar-admin-port=9999',
      '--sidecar-cluster-role=pacs-sidecar-events',
      '--webhook-cert-dir=/etc/dicom-guard/webhook',
      '--webhook-port=9443',
      '--webhook-configuration=dicom-guard',
      '--webhook-name=dicom-guard.dicomguard.io',
      '--certificate-duration=720h',
      '--certificate-renew-before=240h',
      '--log-level=debug',
    ],
    {},
  );
  assert.equal(options, {
    kubeconfig: '/k',
    namespace: 'imaging',
    leaderElect: true,
    leaseName: 'l',
    leaseNamespace: 'ops',
    identity: 'me',
    timing: { leaseDurationSeconds: 30, renewDeadlineSeconds: 20, retryPeriodSeconds: 4 },
    bindAddress: '127.0.0.1',
    metricsPort: 9000,
    healthPort: 9000,
    workers: 2,
    resyncSeconds: 90,
    injection: {
      image: 'registry.example.org/dicom-guard:1.0',
      imagePullPolicy: 'Always',
      adminPort: 9999,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
      runAsUser: 65532,
    },
    webhook: { certDir: '/etc/dicom-guard/webhook', port: 9443 },
    webhookConfiguration: { name: 'dicom-guard', webhook: 'dicom-guard.dicomguard.io' },
    render: { adminPort: 9999, certificateDuration: '720h', certificateRenewBefore: '240h', sidecarClusterRole: 'pacs-sidecar-events' },
    logLevel: 'debug',
  });
  assert.is(parseOperatorArgs([], { POD_NAMESPACE: 'dicom-guard' }).leaseNamespace, 'dicom-guard', 'the downward API');
  assert.is(parseOperatorArgs(['--no-leader-elect'], {}).leaderElect, false);
  assert.is(parseOperatorArgs(['--leader-elect=true'], {}).leaderElect, true, 'as Go flags and Helm charts write it');
  assert.is(parseOperatorArgs(['--leader-elect=false'], {}).leaderElect, false);
});

const refusals: [string[], RegExp][] = [
  [['--bogus'], /Unknown option '--bogus'/],
  [['--metrics-port=0'], /--metrics-port: "0" is not a whole number from 1 to 65535/],
  [['--workers=many'], /--workers/],
  [['--resync-period=soon'], /--resync-period: "soon" is not a duration/],
  [['--lease-duration=10s', '--renew-deadline=10s'], /--lease-duration must be longer than --renew-deadline/],
  [['--renew-deadline=2s', '--retry-period=2s'], /--renew-deadline must be longer than 1.2 x --retry-period/],
  [['--log-level=loud'], /--log-level: "loud"/],
  [['--certificate-duration=90d'], /--certificate-duration: "90d" is not a duration/],
  [['positional'], /positional/],
  [['--leader-elect=yes'], /does not take an argument/],
  [['--sidecar-image-pull-policy=Sometimes'], /--sidecar-image-pull-policy: "Sometimes"/],
  [['--sidecar-memory-limit=lots'], /--sidecar-memory-limit: "lots" is not a Kubernetes quantity/],
  [['--webhook-configuration=x'], /--webhook-configuration and --webhook-name go together/],
  [['--sidecar-cluster-role=a/b'], /--sidecar-cluster-role: "a\/b" is not a ClusterRole name/],
];
for (const [args, message] of refusals) {
  test(`refused: ${args.join(' ')}`, () => {
    assert.throws(() => parseOperatorArgs(args, {}), (error: unknown) => error instanceof UsageError && message.test(error.message));
  });
}

test('parseDuration', () => {
  assert.equal(['15s', '2m', '1h30m', '500ms', '7', '0.5'].map((d) => parseDuration('--x', d)), [15, 120, 5400, 0.5, 7, 0.5]);
  assert.throws(() => parseDuration('--x', '1m oops'), /not a duration/);
});

test('RBAC: every resource the operator uses is granted in one place; least privilege', () => {
  const bind = sidecarBindRules('dicom-guard-sidecar');
  const rules = [...CLUSTER_RULES, ...leaseRules('dicom-guard-operator'), ...webhookRules('dicom-guard'), ...bind];
  const granted = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  for (const resource of Object.values(RESOURCES)) assert.ok(rules.some((r) => r.apiGroups.includes(resource.group) && r.resources.includes(resource.plural)), resource.plural);
  for (const rule of rules) {
    assert.not.ok(rule.verbs.includes('*') || rule.resources.includes('*') || rule.apiGroups.includes('*'), 'no wildcards');
    for (const verb of ['escalate', 'impersonate', 'deletecollection']) assert.not.ok(rule.verbs.includes(verb), verb);
    if (rule.verbs.includes('bind')) assert.equal([rule.resources, rule.resourceNames, rule.verbs], [['clusterroles'], ['dicom-guard-sidecar'], ['bind']], 'bind: the sidecars\' ClusterRole only');
    assert.ok(rule.why.length > 20, 'each rule says why');
  }
  // Updates (PUT) only where optimistic concurrency needs them.
  const updates = rules.filter((r) => r.verbs.includes('update')).flatMap((r) => r.resources);
  assert.equal(updates.sort(), ['dicomaccesspolicies/finalizers', 'leases']);
  assert.not.ok(granted('dicomguard.io', 'dicomaccesspolicies', 'patch'), 'the spec is the user\'s: status only');
  assert.ok(granted('dicomguard.io', 'dicomaccesspolicies/status', 'patch'));
  assert.not.ok(granted('', 'pods', 'get') || granted('', 'pods', 'patch'), 'pods are read from the watch only');
  assert.ok(granted('events.k8s.io', 'events', 'create'));
  assert.not.ok(granted('', 'events', 'create'), 'core/v1 Events are not used');
  assert.equal(leaseRules('x')[1]!.resourceNames, ['x'], 'get and update only the named Lease');
  assert.not.ok(CLUSTER_RULES.some((r) => r.resources.includes('leases')), 'leases are granted in the lease namespace only');
  assert.equal(Object.keys(asPolicyRules(CLUSTER_RULES)[0]!).sort(), ['apiGroups', 'resources', 'verbs']);
  const webhook = webhookRules('dicom-guard');
  assert.equal([webhook.length, webhook[0]!.resourceNames, webhook[0]!.verbs], [1, ['dicom-guard'], ['get', 'patch']], 'its own webhook configuration only, never create');
  assert.ok(rules.some((r) => r.verbs.includes('bind')), 'the RoleBindings of the sidecars need bind');
  assert.not.ok(granted('rbac.authorization.k8s.io', 'clusterroles', 'create') || granted('rbac.authorization.k8s.io', 'roles', 'create'), 'roles are never written');
  assert.equal(asPolicyRules(SIDECAR_RULES), [{ apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] }], 'the sidecars may create Events and nothing else');
});

test.run();
