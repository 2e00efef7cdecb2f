/** Structured JSON logs (pino) on stderr, so stdout stays free for command output and --json. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'game-persist'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['*.password', '*.databaseUrl', '*.databaseReadUrl', '*.redisUrl', '*.boardPassword', 'config.databaseUrl', 'config.redisUrl', 'config.boardPassword'],
        censor: '***',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
