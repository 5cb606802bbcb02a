/**
 * The kernel's own log. It goes to the process's real stderr (file
 * descriptor 2), which the Jupyter server records, never into cell output.
 */
import { writeSync } from 'node:fs';

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A minimal leveled logger. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger writing `[serverless-kernel] LEVEL message` lines to fd 2. */
export function createStderrLogger(minimum: LogLevel = 'info'): Logger {
  const write = (level: LogLevel, message: string): void => {
    if (LEVELS[level] < LEVELS[minimum]) {
      return;
    }
    try {
      writeSync(
        2,
        `[serverless-kernel ${new Date().toISOString().slice(11, 23)}] ${level.toUpperCase()} ${message}\n`,
      );
    } catch {
      // stderr closed: nothing sensible left to do with a log line.
    }
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

/** A logger that keeps lines in memory (tests read them). */
export function createMemoryLogger(lines: string[]): Logger {
  return {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}
