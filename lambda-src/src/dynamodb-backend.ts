import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isJsonNumber, RawNumber } from './json-text';
import type { Profile } from './records';

/** One BatchGetItem round: profiles found, and keys DynamoDB did not process this time. */
export interface BatchGetResult {
  readonly found: Map<string, Profile>;
  readonly unprocessed: string[];
  /** Keys answered but whose item could not be converted (their records are retried, not emitted). */
  readonly failed?: Map<string, string>;
}

/** Where profiles come from: DynamoDB directly, or DAX (see dax-backend.ts). */
export interface LookupBackend {
  readonly kind: 'dynamodb' | 'dax';
  /** One BatchGetItem call for at most 100 distinct keys. */
  batchGet(keys: readonly string[]): Promise<BatchGetResult>;
}

/** The key attribute of the lookup table. */
export const KEY_ATTRIBUTE = 'pk';

/**
 * AttributeValue → native value. Numbers become JS numbers when that is exact, else stay the
 * decimal string; binary becomes base64; sets become arrays.
 */
export function fromAttributeValue(av: AttributeValue): unknown {
  if (av.S !== undefined) return av.S;
  if (av.N !== undefined) return toNumber(av.N);
  if (av.BOOL !== undefined) return av.BOOL;
  if (av.NULL !== undefined) return null;
  if (av.M !== undefined) return unmarshallItem(av.M);
  if (av.L !== undefined) return av.L.map(fromAttributeValue);
  if (av.SS !== undefined) return [...av.SS];
  if (av.NS !== undefined) return av.NS.map(toNumber);
  if (av.B !== undefined) return Buffer.from(av.B).toString('base64');
  if (av.BS !== undefined) return av.BS.map((b) => Buffer.from(b).toString('base64'));
  return null;
}

/**
 * An `N` value: a JS number when that is exact (safe integers, decimals whose shortest form is
 * the same text); integers beyond 2^53 stay decimal strings (a JSON number that large breaks
 * `long` fields and JSON.parse consumers); other decimals (`1.10`, 20+ digits) are kept as
 * {@link RawNumber} and written verbatim as JSON numbers.
 */
export function toNumber(text: string): number | string | RawNumber {
  const n = Number(text);
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : text;
  if (Number.isFinite(n) && String(n) === text) return n;
  return isJsonNumber(text) ? new RawNumber(text) : text;
}

export function unmarshallItem(item: Record<string, AttributeValue>): Profile {
  const out: Profile = {};
  for (const [k, v] of Object.entries(item)) out[k] = fromAttributeValue(v);
  return out;
}

export function dynamoDbBackend(client: DynamoDBClient, tableName: string): LookupBackend {
  return {
    kind: 'dynamodb',
    async batchGet(keys) {
      const res = await client.send(
        new BatchGetItemCommand({
          RequestItems: { [tableName]: { Keys: keys.map((k) => ({ [KEY_ATTRIBUTE]: { S: k } })) } },
        }),
      );
      const found = new Map<string, Profile>();
      for (const raw of res.Responses?.[tableName] ?? []) {
        const item = unmarshallItem(raw);
        const pk = item[KEY_ATTRIBUTE];
        if (typeof pk === 'string') found.set(pk, item);
      }
      const unprocessed: string[] = [];
      for (const key of res.UnprocessedKeys?.[tableName]?.Keys ?? []) {
        const pk = key[KEY_ATTRIBUTE]?.S;
        if (pk !== undefined) unprocessed.push(pk);
      }
      return { found, unprocessed };
    },
  };
}
