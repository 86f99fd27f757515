/**
 * DAX lookups through @amazon-dax-sdk/lib-dax. This module is loaded only when DAX_ENDPOINT is
 * set: the build puts it in its own file (dist/dax.js) so that the DAX client and the copy of the
 * DynamoDB client it depends on stay out of the function's cold-start import.
 */
import { DaxDocument } from '@amazon-dax-sdk/lib-dax';
import type { BatchGetResult, LookupBackend } from './dynamodb-backend';
import { KEY_ATTRIBUTE } from './dynamodb-backend';
import type { Profile } from './records';

export interface DaxOptions {
  readonly endpoint: string;
  readonly region: string | undefined;
  readonly tableName: string;
  /** Whole-call retries done by the DAX client itself. */
  readonly maxRetries: number;
}

export function createDaxBackend(options: DaxOptions): LookupBackend {
  const client = new DaxDocument({
    endpoint: options.endpoint,
    region: options.region,
    maxRetries: options.maxRetries,
  });
  const table = options.tableName;
  return {
    kind: 'dax',
    async batchGet(keys): Promise<BatchGetResult> {
      const res = await client.batchGet({
        RequestItems: { [table]: { Keys: keys.map((k) => ({ [KEY_ATTRIBUTE]: k })) } },
      });
      const found = new Map<string, Profile>();
      for (const item of (res.Responses?.[table] ?? []) as Profile[]) {
        const pk = item[KEY_ATTRIBUTE];
        if (typeof pk === 'string') found.set(pk, normalise(item) as Profile);
      }
      const unprocessed: string[] = [];
      for (const key of (res.UnprocessedKeys?.[table]?.Keys ?? []) as Profile[]) {
        const pk = key[KEY_ATTRIBUTE];
        if (typeof pk === 'string') unprocessed.push(pk);
      }
      return { found, unprocessed };
    },
  };
}

/** Gives DAX items the same JSON shape as the DynamoDB path (sets → arrays, binary → base64). */
function normalise(value: unknown): unknown {
  if (value instanceof Set) return [...value].map(normalise);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalise(v);
    return out;
  }
  return value;
}
