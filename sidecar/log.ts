// The one logger of both entry points: pino, JSON lines on stdout. Secrets never reach
// it by design (the wire codec's secondary field, passcodes, tokens and keys are not
// passed to log calls); redaction is the second line of defence should one slip in.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'passcode',
  'password',
  'token',
  'secondaryField',
  'primaryField',
  'privateKey',
  'key',
  'authorization',
  '*.passcode',
  '*.password',
  '*.token',
  '*.secondaryField',
  '*.primaryField',
  '*.privateKey',
  '*.key',
  '*.authorization',
  '*.headers.authorization',
];

export function createLogger(component: string, level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
