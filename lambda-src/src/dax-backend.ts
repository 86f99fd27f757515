/**
 * DAX lookups through @amazon-dax-sdk/lib-dax. This module is loaded only when DAX_ENDPOINT is
 * set: the build puts it in its own file (dist/dax.js) so that the DAX client and the copy of the
 * DynamoDB client it depends on stay out of the function's cold-start import.
 *
 * Numbers: lib-dax 3.1.0's document methods (`batchGet`) unmarshall with fixed options (no
 * `wrapNumbers`), so one number beyond 2^53 in any item throws and fails the whole call of up to
 * 100 keys. The DAX client underneath decodes numbers losslessly into AttributeValue strings
 * (`{N: "12345678901234567890"}`, BigNumber/BigDecimal `toString`), so this backend calls the
 * inherited low-level `batchGetItem` and unmarshalls with the same function as the DynamoDB path:
 * both paths give the same JSON, and an item that still cannot be converted fails only its key.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DaxDocument } from '@amazon-dax-sdk/lib-dax';
import type { BatchGetResult, LookupBackend } from './dynamodb-backend';
import { KEY_ATTRIBUTE, unmarshallItem } from './dynamodb-backend';
import type { Profile } from './records';

export interface DaxOptions {
  readonly endpoint: string;
  readonly region: string | undefined;
  readonly tableName: string;
  /** Whole-call retries done by the DAX client itself. */
  readonly maxRetries: number;
}

type AvItem = Record<string, AttributeValue>;

/** The AttributeValue-level BatchGetItem that DaxDocument inherits from the DAX client. */
export interface RawBatchGet {
  batchGetItem(params: {
    RequestItems: Record<string, { Keys: AvItem[] }>;
  }): Promise<{ Responses?: Record<string, AvItem[]>; UnprocessedKeys?: Record<string, { Keys?: AvItem[] }> }>;
}

/** Converts one raw DAX BatchGetItem response; a failing item fails only its own key. */
export function convertDaxResponse(
  table: string,
  res: Awaited<ReturnType<RawBatchGet['batchGetItem']>>,
): BatchGetResult {
  const found = new Map<string, Profile>();
  const failed = new Map<string, string>();
  for (const raw of res.Responses?.[table] ?? []) {
    const pk = raw[KEY_ATTRIBUTE]?.S;
    if (pk === undefined) continue;
    try {
      found.set(pk, unmarshallItem(raw));
    } catch (err) {
      failed.set(pk, `item conversion failed: ${(err as Error).message}`);
    }
  }
  const unprocessed: string[] = [];
  for (const key of res.UnprocessedKeys?.[table]?.Keys ?? []) {
    const pk = key[KEY_ATTRIBUTE]?.S;
    if (pk !== undefined) unprocessed.push(pk);
  }
  return { found, unprocessed, failed };
}

export function createDaxBackend(options: DaxOptions): LookupBackend {
  const document = new DaxDocument({
    endpoint: options.endpoint,
    region: options.region,
    maxRetries: options.maxRetries,
  });
  // DaxDocument's typings only declare the DynamoDBDocument surface; at runtime it extends the
  // DAX client, whose batchGetItem speaks AttributeValues (see the module comment).
  const client = document as unknown as RawBatchGet;
  const table = options.tableName;
  return {
    kind: 'dax',
    async batchGet(keys): Promise<BatchGetResult> {
      const res = await client.batchGetItem({
        RequestItems: { [table]: { Keys: keys.map((k) => ({ [KEY_ATTRIBUTE]: { S: k } })) } },
      });
      return convertDaxResponse(table, res);
    },
  };
}
