// One structured logger: a JSON line per event with a level and the ids it concerns. Fields
// are scalars only — ids, counts, codes — so that no secret and no personal data (addresses,
// names, rendered URLs, headers) ends up in a log line.
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The text of an error for a log line: its message only (never a payload it may carry). */
export const errorText = (err: unknown) =>
  err instanceof Error ? `${err.name}: ${err.message}` : String(err);

export function createLogger(base: LogFields = {}, level: LogLevel = "info"): Logger {
  const write = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) {
      return;
    }
    const line = JSON.stringify({ level: at, msg, ...base, ...fields });
    if (at === "error") {
      console.error(line);
    } else if (at === "warn") {
      console.warn(line);
    } else {
      console.log(line);
    }
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }, level),
  };
}
