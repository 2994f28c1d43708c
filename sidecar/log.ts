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

const CENSOR = '[redacted]';

export function createLogger(component: string, level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component },
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * The logger of the per-association audit records: `logger`'s destination, level (it
 * follows level changes) and base fields, with redaction of top-level keys only. An audit
 * record is built field by field by the association (AuditRecord): names, addresses,
 * codes, counts and reasons written never to quote a secret, nested only in objects of its
 * own (source, reject, tls, bytes). The wildcard paths would walk every value of every
 * record, ~50 us each, the largest single cost of a short association.
 */
export function createAuditLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: REDACTED_PATHS.filter((path) => !path.startsWith('*')), censor: CENSOR } });
}
