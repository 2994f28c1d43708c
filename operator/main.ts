// `dicom-guard operator`: runs the operator until SIGTERM or SIGINT, then stops it in
// order (the leader's workers finish what they are doing and it releases the Lease, the
// watches stop, the HTTP endpoints close) and exits 0.
import { createLogger } from '../sidecar/log.ts';
import { startOperator } from './operator.ts';
import { OPERATOR_USAGE, parseOperatorArgs, UsageError, type OperatorOptions } from './options.ts';

export async function runOperator(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(OPERATOR_USAGE);
    return 0;
  }
  let options: OperatorOptions;
  try {
    options = parseOperatorArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`dicom-guard operator: ${error.message}\n${OPERATOR_USAGE}`);
    return 2;
  }
  const logger = createLogger('operator', options.logLevel);
  let running;
  try {
    running = await startOperator(options, logger);
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'the operator could not start');
    logger.flush();
    return 1;
  }
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, `${signal} received: stopping`);
  await running.stop();
  logger.flush();
  return 0;
}
