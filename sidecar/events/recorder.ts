// Posting the sidecar's lockout Events (lockout-events.ts) to the API server. Thin I/O:
// the pod comes from the webhook's downward API environment (pod.ts), the credentials
// from the pod's service account token that the webhook mounts into the sidecar when the
// pod has one (service-account.ts; the operator binds the account to the sidecars'
// Events-only ClusterRole), and the request goes through the operator's own client and
// EventRecorder: one image, one way.
//
// Events are a courtesy, never in the DICOM path: a failure to post is a warning in the
// log, an Event is never waited for, and a standalone sidecar (no pod) simply has none.
import type { Logger } from 'pino';
import { KubeClient } from '../../operator/kube/client.ts';
import { EventRecorder, type EventInput } from '../../operator/kube/events.ts';
import { LockoutEvents, type LockoutEventLimits, type SourceLockout } from './lockout-events.ts';
import { podFromEnv } from './pod.ts';
import { serviceAccountCredentials } from './service-account.ts';

/** reportingController of the sidecar's Events. */
export const SIDECAR_REPORTING_CONTROLLER = 'dicomguard.io/sidecar';

export interface LockoutReporter {
  report(lockout: SourceLockout): void;
  close(): void;
}

export interface LockoutReporterOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  limits?: LockoutEventLimits;
}

/** The reporter, or undefined (and why, in the log) when the sidecar runs outside a pod or holds no token. */
export async function startLockoutReporter(options: LockoutReporterOptions): Promise<LockoutReporter | undefined> {
  const { logger, env = process.env } = options;
  const pod = podFromEnv(env);
  if (!pod) {
    logger.debug('not in a Kubernetes pod (no DICOMGUARD_POD_NAME and DICOMGUARD_POD_NAMESPACE): lockouts are logged and counted, not posted as Events');
    return undefined;
  }
  let client: KubeClient;
  try {
    client = await KubeClient.create(await serviceAccountCredentials(env), { userAgent: 'dicom-guard-sidecar' });
  } catch (error) {
    logger.info(
      { err: error instanceof Error ? error.message : String(error) },
      'no Kubernetes credentials in the sidecar (the pod sets automountServiceAccountToken: false?): lockouts are logged and counted, not posted as Events',
    );
    return undefined;
  }
  const recorder = new EventRecorder({ client, reporter: { controller: SIDECAR_REPORTING_CONTROLLER, instance: pod.name }, logger, windowMs: 0 });
  const events = new LockoutEvents(pod, options.limits);
  let timer: NodeJS.Timeout | undefined;
  const send = (event: EventInput) => recorder.record(event);
  const scheduleSummary = () => {
    const due = events.summaryDue;
    if (due === undefined || timer) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        const summary = events.summary(Date.now());
        if (summary) send(summary);
        scheduleSummary();
      },
      Math.max(0, due - Date.now()),
    );
    timer.unref();
  };
  logger.info({ pod: `${pod.namespace}/${pod.name}`, server: client.server.origin }, 'lockouts are posted as Events on this pod');
  return {
    report(lockout) {
      for (const event of events.lockout(lockout, Date.now())) send(event);
      scheduleSummary();
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      client.close();
    },
  };
}
