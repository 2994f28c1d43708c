// The checked-in CRD manifest is exactly what operator/api/v1alpha1.ts renders.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { CHART_CRD_FILE, CRD_FILE, dicomAccessPolicyCRD, REGENERATE_COMMAND, renderCrdYaml } from './crd.ts';

const root = join(import.meta.dirname, '..', '..');

for (const file of [CRD_FILE, CHART_CRD_FILE]) {
  test(`${file} holds the manifest operator/api/v1alpha1.ts renders`, async () => {
    const checkedIn = await readFile(join(root, file), 'utf8').catch(() => '(missing)');
    if (checkedIn !== renderCrdYaml()) {
      assert.unreachable(`${file} is not what operator/api/v1alpha1.ts renders; regenerate it with \`${REGENERATE_COMMAND}\` and commit it`);
    }
  });
}

test('the YAML reads back as the CRD object, without anchors or aliases', () => {
  const text = renderCrdYaml();
  assert.not.match(text, /[&*]a\d+\b/);
  assert.equal(parse(text), JSON.parse(JSON.stringify(dicomAccessPolicyCRD)));
});

test('rendering is deterministic', () => {
  assert.is(renderCrdYaml(), renderCrdYaml());
});

test.run();
