// Reads a V8 .cpuprofile (node --cpu-prof, or `bench/run.ts --profile`) and prints the
// functions with the most self time and the most total time (self + callees), as text:
// enough to see where a benchmark's CPU went without opening DevTools.
//
//   node bench/profile-summary.ts FILE.cpuprofile [--top N]
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/harness/tools.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${relative(ROOT, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

export function summarizeProfile(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    self.set(label(byId.get(id)!), (self.get(label(byId.get(id)!)) ?? 0) + ms);
    // Each label once per stack, so recursion is not counted twice.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = totalMs - idle;
  const rows = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => !['(root)', '(idle)', '(program)'].includes(name) || map === self)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
  return [
    `profile: ${totalMs.toFixed(0)} ms, of which ${busy.toFixed(0)} ms not idle (percentages below are of that)`,
    '',
    'self time',
    ...rows(self),
    '',
    'total time (self + callees)',
    ...rows(inclusive),
  ].join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    console.error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(positionals[0]!, 'utf8')) as CpuProfile;
  console.log(summarizeProfile(profile, Number(values.top)));
}
