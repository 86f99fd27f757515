/**
 * The cost command's flags: unit parsing, and a clear error naming the flag and the allowed
 * format for every bad value (the exact messages, so a vaguer one fails the test).
 */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../scripts/cost';
import { CostInputError, parseHours, parseRecordBytes, parseThroughput } from '../../scripts/cost/units';

describe('--throughput', () => {
  it.each([
    ['10MB/s', 10e6],
    ['1.5 MB/s', 1.5e6],
    ['500KB/s', 500e3],
    ['512KiB/s', 512 * 1024],
    ['2MiB/s', 2 * 1024 ** 2],
    ['1GB/s', 1e9],
    ['100 mb / sec', 100e6],
    ['800B/s', 800],
  ])('parses %s as %d bytes per second', (text, bytes) => {
    expect(parseThroughput(text)).toBe(bytes);
  });

  it.each(['10MBs', '10', 'MB/s', '-1MB/s', '0MB/s', '10TB/s', '10MB/h', 'ten MB/s', '1e400MB/s', ''])(
    'refuses %j, naming the flag and the format',
    (text) => {
      expect(() => parseThroughput(text)).toThrow(CostInputError);
      expect(() => parseThroughput(text)).toThrow(
        `--throughput: "${text}" is not a throughput; use <number><unit>/s with a number above 0 and unit one of B, KB, MB, GB, KiB, MiB, GiB (e.g. 10MB/s, 512KiB/s)`,
      );
    },
  );
});

describe('--record-bytes and --hours', () => {
  it('accept whole bytes 1-1048576 and hours in (0, 744]', () => {
    expect(parseRecordBytes('1')).toBe(1);
    expect(parseRecordBytes('1048576')).toBe(1048576);
    expect(parseHours('730')).toBe(730);
    expect(parseHours('0.5')).toBe(0.5);
    expect(parseHours('744')).toBe(744);
  });

  it.each(['0', '1048577', '1.5', '1KB', '-3', 'x'])('--record-bytes refuses %j', (text) => {
    expect(() => parseRecordBytes(text)).toThrow(
      `--record-bytes: "${text}" is not a record size; use a whole number of bytes from 1 to 1048576 (e.g. 1024)`,
    );
  });

  it.each(['0', '745', '-1', 'month', '1e3'])('--hours refuses %j', (text) => {
    expect(() => parseHours(text)).toThrow(
      `--hours: "${text}" is not a number of hours; use a number above 0 and at most 744 (default 730, AWS's month)`,
    );
  });
});

describe('parseArgs', () => {
  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const a = parseArgs([
      '-s',
      'prod',
      '--throughput=10MB/s',
      '--record-bytes',
      '2048',
      '--hours',
      '100',
      '--json',
      '--',
      '--hit-rate',
      '0.5',
      '--customers=50',
      '--duration-ms',
      '80',
    ]);
    expect(a).toEqual({
      stack: 'prod',
      json: true,
      blueprintTable: false,
      throughputBytesPerSecond: 10e6,
      overrides: { recordBytes: 2048, hours: 100, hitRate: 0.5, customers: 50, durationMsPerBatch: 80 },
    });
  });

  it('defaults to 1 MB/s and no overrides', () => {
    expect(parseArgs(['--stack', 'dev'])).toEqual({
      stack: 'dev',
      json: false,
      blueprintTable: false,
      throughputBytesPerSecond: 1e6,
      overrides: {},
    });
  });

  it('names what is wrong', () => {
    expect(() => parseArgs([])).toThrow('--stack (-s) is required (e.g. -s prod), unless --blueprint-table');
    expect(() => parseArgs(['-s'])).toThrow('-s needs a value');
    expect(() => parseArgs(['-s', 'prod', '--throughput'])).toThrow('--throughput needs a value');
    expect(() => parseArgs(['-s', 'prod', '--fast'])).toThrow(
      'unknown argument "--fast"; flags: --stack, -s, --throughput, --record-bytes, --hours, --customers, --hit-rate, --duration-ms, --json, --blueprint-table',
    );
    expect(() => parseArgs(['-s', 'prod', '--json=yes'])).toThrow('--json takes no value');
    expect(() => parseArgs(['-s', 'prod', '--hit-rate', '1.2'])).toThrow(
      '--hit-rate: "1.2" is not a fraction; use a number from 0 to 1 (e.g. 0.9)',
    );
    expect(() => parseArgs(['-s', 'prod', '--customers', '0'])).toThrow(
      '--customers: "0" is not a whole number of at least 1 (e.g. 10000)',
    );
    expect(() => parseArgs(['-s', 'prod', '--duration-ms', '0'])).toThrow(
      '--duration-ms: "0" is not a number above 0 (e.g. 120)',
    );
    expect(() => parseArgs(['--blueprint-table', '--throughput', '5MB/s'])).toThrow(
      "--throughput: not with --blueprint-table, which uses the blueprint's 1, 10 and 100 MB/s",
    );
  });
});
