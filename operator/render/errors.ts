// Why a policy's sidecar material could not be rendered: each problem names the policy
// field or Secret key at fault; the reason becomes the ConfigRendered condition's reason.

export type RenderReason = 'SecretNotFound' | 'SecretKeyNotFound' | 'SecretKeyEmpty' | 'PortConflict' | 'InvalidSidecarConfig';

export interface RenderProblem {
  readonly reason: RenderReason;
  readonly message: string;
}

export class RenderError extends Error {
  /** namespace/name of the policy. */
  readonly policy: string;
  readonly problems: readonly RenderProblem[];
  /** The first problem's reason (a condition has one). */
  readonly reason: RenderReason;

  constructor(policy: string, problems: readonly RenderProblem[]) {
    super(`DicomAccessPolicy ${policy}: ${problems.map((p) => p.message).join('; ')}`);
    this.name = 'RenderError';
    this.policy = policy;
    this.problems = problems;
    this.reason = problems[0]?.reason ?? 'InvalidSidecarConfig';
  }
}
