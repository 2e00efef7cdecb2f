/**
 * Structured JSON logs (pino) on stderr, so stdout stays free for command output and --json. Secrets
 * never reach them: config fields holding one are censored by path, and any URL password in a message
 * or a string field (an error's text) is replaced by `***`.
 */
import { pino, type Logger } from 'pino';
import { redactSecrets } from './errors.ts';

export type { Logger };

export function createLogger(level: string, name = 'game-persist'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          '*.password', '*.databaseUrl', '*.databaseReadUrl', '*.redisUrl', '*.boardPassword', '*.metricsToken', '*.dbRoles', '*.erasureKey',
          'config.databaseUrl', 'config.redisUrl', 'config.boardPassword', 'config.metricsToken', 'config.erasureKey',
          'headers.authorization', '*.headers.authorization', 'req.headers.authorization',
        ],
        censor: '***',
      },
      formatters: {
        log: (obj) => {
          for (const [k, v] of Object.entries(obj)) if (typeof v === 'string' && v.includes('://')) obj[k] = redactSecrets(v);
          return obj;
        },
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' && a.includes('://') ? redactSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
