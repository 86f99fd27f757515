/**
 * Parsing of the cost command's flags. Each parser throws a CostInputError that names the flag,
 * the value it got and the accepted format, so a typo never turns into a silent default.
 */

/** A bad flag value: the message names the flag and the allowed format. */
export class CostInputError extends Error {}

/** Bytes per unit. Decimal units (KB, MB, GB) are powers of 1000, binary ones (KiB...) of 1024. */
const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const UNIT_LIST = 'B, KB, MB, GB, KiB, MiB, GiB';

function number(text: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * `--throughput`: a data rate such as `10MB/s`, `1.5 MiB/s` or `500KB/s` (per second only; MB is
 * 10^6 bytes as in the blueprint's table). Returns bytes per second (> 0).
 */
export function parseThroughput(text: string, flag = '--throughput'): number {
  const m = /^\s*([0-9.eE+-]+)\s*([A-Za-z]+)\s*\/\s*(s|sec|second)\s*$/.exec(text);
  const value = m ? number(m[1]!) : undefined;
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || value === undefined || unit === undefined || !(value > 0)) {
    throw new CostInputError(
      `${flag}: "${text}" is not a throughput; use <number><unit>/s with a number above 0 and unit one of ${UNIT_LIST} (e.g. 10MB/s, 512KiB/s)`,
    );
  }
  return value * unit;
}

/** `--record-bytes`: the average raw event size, an integer from 1 to 1048576 (Kinesis' 1 MiB record limit the handler enforces). */
export function parseRecordBytes(text: string, flag = '--record-bytes'): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1048576) {
    throw new CostInputError(
      `${flag}: "${text}" is not a record size; use a whole number of bytes from 1 to 1048576 (e.g. 1024)`,
    );
  }
  return n;
}

/** `--hours`: billed hours in the month, a number above 0 and at most 744 (31 days). */
export function parseHours(text: string, flag = '--hours'): number {
  const n = number(text.trim());
  if (n === undefined || !(n > 0) || n > 744) {
    throw new CostInputError(
      `${flag}: "${text}" is not a number of hours; use a number above 0 and at most 744 (default 730, AWS's month)`,
    );
  }
  return n;
}

/** A fraction from 0 to 1 (e.g. `--hit-rate 0.9`). */
export function parseFraction(text: string, flag: string): number {
  const n = number(text.trim());
  if (n === undefined || n < 0 || n > 1) {
    throw new CostInputError(`${flag}: "${text}" is not a fraction; use a number from 0 to 1 (e.g. 0.9)`);
  }
  return n;
}

/** A positive number (e.g. `--duration-ms 120`). */
export function parsePositive(text: string, flag: string, example: string): number {
  const n = number(text.trim());
  if (n === undefined || !(n > 0))
    throw new CostInputError(`${flag}: "${text}" is not a number above 0 (e.g. ${example})`);
  return n;
}

/** A whole number ≥ 1 (e.g. `--customers 10000`). */
export function parseCount(text: string, flag: string, example: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new CostInputError(`${flag}: "${text}" is not a whole number of at least 1 (e.g. ${example})`);
  return n;
}

/** Bytes as decimal MB per second, for display (the blueprint's unit). */
export function mbPerSecond(bytesPerSecond: number): number {
  return bytesPerSecond / 1e6;
}
