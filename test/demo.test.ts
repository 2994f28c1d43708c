// The README's "run it" command, as a user runs it: `npm run demo` exits 0 having shown
// an injected pod, an allowed association whose image arrives, and a refused one; then
// `npm run cluster:down` stops everything it left running.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { readState, stateIsRunning } from './cluster/control-plane.ts';
import { clusterDir } from './cluster/cluster.ts';
import { run } from './harness/processes.ts';
import { NODE, ROOT } from './harness/tools.ts';

test('npm run demo: one association allowed, one refused; cluster:down stops it all', async () => {
  const state = await readState(clusterDir);
  const wasRunning = state !== undefined && stateIsRunning(state);
  const demo = await run(NODE, [join(ROOT, 'demo', 'run.ts')], { timeoutMs: 1_500_000 });
  try {
    assert.is(demo.code, 0, demo.output.slice(-4000));
    assert.match(demo.stdout, /restartPolicy: Always/, 'the injected native sidecar is shown');
    assert.match(demo.stdout, /Received Echo Response \(Success\)/);
    assert.match(demo.stdout, /storescu exit 0; instances in Orthanc: (\d+) -> (\d+)/);
    const [, before, after] = /instances in Orthanc: (\d+) -> (\d+)/.exec(demo.stdout)!;
    assert.is(Number(after), Number(before) + 1);
    assert.match(demo.stdout, /Reason: Calling AE Title Not Recognized/);
    assert.match(demo.stdout, /Done: one association allowed, one refused\./);
  } finally {
    if (!wasRunning) {
      const down = await run(NODE, [join(ROOT, 'test', 'cluster', 'cluster.ts'), 'down'], { timeoutMs: 120_000 });
      assert.is(down.code, 0, down.output);
      const after = await readState(clusterDir);
      assert.is(after, undefined, 'cluster:down removes the state');
    }
  }
});

test.run();
