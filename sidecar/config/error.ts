// The error every config problem becomes, in a module of its own: the proxy needs it
// without the parser (which runs in a thread of its own, parse-thread.ts).

/** Everything wrong with a config document, each problem naming its field. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid SidecarConfig ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
