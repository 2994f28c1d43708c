// The desired objects are typed from maintained sources (client-node's models in the wire
// format, cert-manager's CRD schema): a misspelt field does not compile. The fixture
// desired-typos.must-not-compile.ts holds one typo per object; compiled alone with the
// project's settings, it must give exactly one error on each marked line and no other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(import.meta.dirname, 'desired-typos.must-not-compile.ts');

test('every typo in a desired object is a compile error, on its line', () => {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const program = ts.createProgram([FIXTURE], { ...options, noEmit: true });
  const source = program.getSourceFile(FIXTURE)!;
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === source.fileName);
  const errorLines = errors.map((d) => source.getLineAndCharacterOfPosition(d.start!).line + 1);
  const marked = readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .flatMap((line, i) => (/\/\/ typo: /.test(line) ? [i + 1] : []));
  assert.ok(marked.length >= 8, 'the fixture has its typos');
  const unexpected = errors.filter((d) => !marked.includes(source.getLineAndCharacterOfPosition(d.start!).line + 1));
  assert.equal(unexpected.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), [], 'no error but the typos');
  for (const line of marked) {
    assert.is(errorLines.filter((l) => l === line).length, 1, `line ${line}: ${source.text.split('\n')[line - 1]!.trim()}`);
  }
});

test.run();
