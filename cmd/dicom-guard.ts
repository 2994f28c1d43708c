// The dicom-guard command: one program, several entry points.
//   dicom-guard sidecar --config FILE     the DICOM proxy in front of a PACS
//   dicom-guard check-config FILE         validate a SidecarConfig and exit
//   dicom-guard operator [options]        the Kubernetes operator (and its webhook)
import { parseArgs } from 'node:util';
import { ConfigError } from '../sidecar/config/error.ts';
import { Sidecar } from '../sidecar/proxy/sidecar.ts';
import { loadGeneration } from '../sidecar/proxy/generation.ts';
import { createLogger } from '../sidecar/log.ts';

const USAGE = `usage:
  dicom-guard sidecar --config FILE    run the DICOM access-control proxy
  dicom-guard check-config FILE        validate a SidecarConfig file
  dicom-guard operator                 run the Kubernetes operator
  dicom-guard --version
Each command answers --help.`;

const SIDECAR_USAGE = `usage: dicom-guard sidecar --config FILE

Runs the DICOM access-control proxy with the SidecarConfig in FILE (reloaded when it
changes). Logs and audit records are JSON lines on stdout. In a Kubernetes pod
(DICOMGUARD_POD_NAME and DICOMGUARD_POD_NAMESPACE set, as the injecting webhook does), a
source address locked out is also posted as an Event on the pod, with the pod's service
account token.

  -c, --config FILE   the SidecarConfig (YAML or JSON)
  -h, --help          this text`;

async function sidecar(args: string[]): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    // Unknown flags and missing values: a usage error, not a stack trace.
    console.error(`dicom-guard sidecar: ${error instanceof Error ? error.message : String(error)}\n${SIDECAR_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(SIDECAR_USAGE);
    return 0;
  }
  if (!values.config) {
    console.error(`dicom-guard sidecar: --config FILE is required\n${SIDECAR_USAGE}`);
    return 2;
  }
  const running = await Sidecar.start({ configPath: values.config });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      running.logger.info({ signal }, `${signal} received: stopping`);
      void running.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

const CHECK_CONFIG_USAGE = `usage: dicom-guard check-config FILE

Validates a SidecarConfig and the files it names (TLS keys, identity files) as the
sidecar would at start; exits 0 when valid.`;

async function checkConfig(args: string[]): Promise<number> {
  const path = args[0];
  if (path === '--help' || path === '-h') {
    console.log(CHECK_CONFIG_USAGE);
    return 0;
  }
  if (!path) {
    console.error(`dicom-guard check-config: a FILE is required\n${CHECK_CONFIG_USAGE}`);
    return 2;
  }
  // The same loading the sidecar does at start: the config, the files it names, TLS keys.
  const generation = await loadGeneration(path, createLogger('check-config', 'warn'));
  generation.verifier?.close();
  const config = generation.policy.config;
  const edge = config.upstream.tls || config.upstream.identity ? `, upstream TLS ${config.upstream.tls ? 'on' : 'off'}, upstream identity ${config.upstream.identity ? 'set' : 'none'}` : '';
  console.log(`${path}: valid SidecarConfig (${config.peers.length} peer(s), called AE titles ${config.calledAETitles.join(', ')}, TLS ${config.tls.mode}, identity ${config.identity.mode}${edge})`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'sidecar':
      return sidecar(rest);
    case 'check-config':
      return checkConfig(rest);
    case 'operator': {
      const { runOperator } = await import('../operator/main.ts');
      return runOperator(rest);
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    case '--version':
    case 'version': {
      const { version } = (await import('../package.json', { with: { type: 'json' } })).default;
      console.log(`dicom-guard ${version}`);
      return 0;
    }
    default:
      console.error(command ? `dicom-guard: unknown command "${command}"\n${USAGE}` : USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exitCode = 1;
  } else {
    console.error(`dicom-guard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
