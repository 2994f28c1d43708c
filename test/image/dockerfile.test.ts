// The Dockerfile, carried out on this host. There is no container engine or registry
// here (a docker CLI without a daemon, no route to docker.io or gcr.io), so the image is
// not built; instead this test reads the Dockerfile and does what each stage says, in a
// folder per stage standing for its root filesystem: COPY from the build context or an
// earlier stage, RUN in the stage's WORKDIR, USER, ENV, ENTRYPOINT and CMD. The base
// images' Node.js is this repository's pinned one, whose version the test holds equal to
// the Dockerfile's NODE_VERSION. An instruction it does not know fails the test, so the
// Dockerfile cannot grow a step this test silently skips.
//
// What it shows: the build stage builds; the final stage holds the production
// dependencies and no development ones; and, from a read-only /app as user 65532, the
// entry point answers --help for both commands and the sidecar relays an allowed C-ECHO
// to Orthanc and refuses a caller it does not know.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { dcmtk } from '../harness/dcmtk.ts';
import { startOrthanc } from '../harness/orthanc.ts';
import { run } from '../harness/processes.ts';
import { startSidecar } from '../harness/sidecar.ts';
import { NODE, ROOT } from '../harness/tools.ts';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with their continuation lines joined; comments (and the syntax directive) dropped. */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return; // a comment inside a continued instruction
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1).trim() : line;
    pending = pending ? { text: `${pending.text} ${part}`, line: pending.line } : { text: part, line: index + 1 };
    if (continued) return;
    const [keyword, ...rest] = pending.text.split(/\s+/);
    result.push({ keyword: keyword!.toUpperCase(), args: rest.join(' '), line: pending.line });
    pending = undefined;
  });
  return result;
}

interface Stage {
  name: string;
  base: string;
  /** The folder standing for the stage's root filesystem. */
  root: string;
  workdir: string;
  user?: { uid: number; gid: number };
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
}

/** Where the base images keep node: the distroless image's ENTRYPOINT names it. */
const BASE_IMAGE_NODE = '/nodejs/bin/node';

const inStage = (stage: Stage, path: string) => join(stage.root, isAbsolute(path) ? path : join(stage.workdir, path));

async function carryOut(dockerfile: string, work: string): Promise<{ stages: Stage[]; args: Record<string, string> }> {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const expand = (text: string) =>
    text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
      if (args[name] === undefined) throw new Error(`\${${name}} is not an ARG`);
      return args[name];
    });
  for (const { keyword, args: text, line } of instructions(dockerfile)) {
    const where = `Dockerfile:${line} ${keyword}`;
    const stage = stages.at(-1);
    if (keyword === 'ARG') {
      const [name, value = ''] = text.split('=');
      args[name!] = value;
      continue;
    }
    if (keyword === 'FROM') {
      const [base, as, name] = expand(text).split(/\s+/);
      const root = join(work, `stage-${stages.length}`);
      await mkdir(root, { recursive: true });
      stages.push({ name: as?.toUpperCase() === 'AS' ? name! : String(stages.length), base: base!, root, workdir: '/', env: {}, entrypoint: [], cmd: [] });
      continue;
    }
    if (!stage) assert.unreachable(`${where} before FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage!.workdir = text;
        await mkdir(inStage(stage!, '.'), { recursive: true });
        break;
      case 'COPY': {
        const words = text.split(/\s+/);
        const from = words[0]!.startsWith('--from=') ? stages.find((s) => s.name === words.shift()!.slice('--from='.length)) : undefined;
        const dest = words.pop()!;
        for (const source of words) {
          const target = words.length > 1 || dest.endsWith('/') ? join(inStage(stage!, dest), source.split('/').at(-1)!) : inStage(stage!, dest);
          await mkdir(dirname(target), { recursive: true });
          await cp(from ? inStage(from, source) : join(ROOT, source), target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const result = await run('/bin/sh', ['-c', text], {
          cwd: inStage(stage!, '.'),
          // The build stage's base image has node and npm on PATH: here, the pinned Node.js's.
          env: { ...process.env, ...stage!.env, PATH: `${dirname(NODE)}:${process.env.PATH}`, npm_config_prefer_offline: 'true' },
          timeoutMs: 600_000,
        });
        assert.is(result.code, 0, `${where} ${text}\n${result.output.slice(-3000)}`);
        break;
      }
      case 'USER': {
        const [uid, gid = uid] = text.split(':').map(Number);
        stage!.user = { uid: uid!, gid: gid! };
        break;
      }
      case 'ENV':
        for (const pair of text.split(/\s+/)) stage!.env[pair.split('=')[0]!] = pair.split('=').slice(1).join('=');
        break;
      case 'ENTRYPOINT':
        stage!.entrypoint = JSON.parse(text) as string[];
        break;
      case 'CMD':
        stage!.cmd = JSON.parse(text) as string[];
        break;
      case 'LABEL':
      case 'EXPOSE':
        break;
      default:
        assert.unreachable(`${where}: an instruction this test does not carry out`);
    }
  }
  return { stages, args };
}

const work = await mkdtemp(join(tmpdir(), 'dg-image-'));
const { stages, args } = await carryOut(await readFile(join(ROOT, 'Dockerfile'), 'utf8'), work);
const image = stages.at(-1)!;
// Runs as the image does: the node the ENTRYPOINT names is the pinned one; /app is the stage's.
const entrypoint = image.entrypoint.map((word) => (word === BASE_IMAGE_NODE ? NODE : word.startsWith('/') ? join(image.root, word) : word)) as [string, ...string[]];
// As root here, the processes below switch to the image's user; run unprivileged, they already are not root.
const user = process.getuid?.() === 0 ? image.user : undefined;

test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('two stages: the build on the pinned Node.js (NODE_VERSION), the image non-root with one entry point', () => {
  assert.is(stages.length, 2);
  assert.is(`v${args.NODE_VERSION}`, process.version, 'the Dockerfile builds on the Node.js version development and CI pin');
  assert.equal(image.user, { uid: 65532, gid: 65532 });
  assert.is(image.entrypoint[0], BASE_IMAGE_NODE);
  assert.is(image.env.NODE_ENV, 'production');
});

test('the image holds the production dependency tree of package-lock.json, and nothing only development needs', async () => {
  // npm marks each package the production tree does not need `dev: true` in the lockfile.
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const packages = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
  const inImage = (path: string) => existsSync(join(image.root, 'app', path, 'package.json'));
  const production = packages.filter(([, entry]) => !entry.dev).map(([path]) => path);
  const development = packages.filter(([, entry]) => entry.dev).map(([path]) => path);
  assert.ok(production.length > 0 && development.length > 0);
  assert.equal(production.filter((path) => !inImage(path)), [], 'production packages missing from the image');
  assert.equal(development.filter(inImage), [], 'development-only packages in the image');
  assert.ok(development.includes('node_modules/typescript'), 'the compiler the build stage uses is development-only');
});

test('from a read-only /app as 65532: --help (the CMD) names both commands; each answers its own --help', async () => {
  await chmod(work, 0o755); // mkdtemp's 0700 would keep 65532 out of every stage
  const readOnly = await run('chmod', ['-R', 'a-w,a+rX', join(image.root, 'app')]);
  assert.is(readOnly.code, 0, readOnly.output);
  const help = await run(entrypoint[0], [...entrypoint.slice(1), ...image.cmd], { ...user, env: { ...process.env, ...image.env } });
  assert.is(help.code, 0, help.output);
  assert.match(help.output, /operator/);
  assert.match(help.output, /sidecar/);
  for (const command of ['operator', 'sidecar']) {
    const result = await run(entrypoint[0], [...entrypoint.slice(1), command, '--help'], { ...user, env: { ...process.env, ...image.env } });
    assert.is(result.code, 0, `${command} --help: ${result.output}`);
  }
});

test("the image's sidecar, as 65532: an allowed C-ECHO reaches Orthanc, an unknown caller is refused", async () => {
  const orthanc = await startOrthanc();
  const sidecar = await startSidecar(
    {
      upstream: { host: '127.0.0.1', port: orthanc.dicomPort },
      calledAETitles: [orthanc.aeTitle],
      peers: [{ name: 'modality', aeTitles: ['MODALITY'], ipBlocks: [{ cidr: '127.0.0.0/8' }] }],
    },
    { command: entrypoint, user },
  );
  try {
    const allowed = await dcmtk('echoscu', ['-aet', 'MODALITY', '-aec', orthanc.aeTitle], sidecar.port);
    assert.is(allowed.code, 0, allowed.output);
    const refused = await dcmtk('echoscu', ['-aet', 'STRANGER', '-aec', orthanc.aeTitle], sidecar.port);
    assert.is.not(refused.code, 0);
    assert.match(refused.output, /Calling AE Title Not Recognized/);
    const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'STRANGER');
    assert.is(audit.decision, 'rejected');
  } finally {
    await sidecar.stop();
    await orthanc.stop();
  }
});

test.run();
