import { createHash } from 'node:crypto';
import type { KinesisStreamRecord } from 'aws-lambda';
import { RawNumber, scanMembers, spliceMembers, toJson, type ObjectSpans } from './json-text';

/** A customer profile as stored in the lookup table (native JS values, includes `pk`). */
export type Profile = Record<string, unknown>;

export type MalformedReason =
  | 'record_too_large'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_customer_id'
  | 'enriched_record_too_large';

export interface RawEvent {
  customer_id: string;
  [key: string]: unknown;
}

/** A valid raw event: the parsed object (read-only use), its exact text and member spans. */
export interface ParsedEvent {
  readonly customerId: string;
  /** JSON.parse result; used to read fields, never re-serialized. */
  readonly value: RawEvent;
  /** The decoded text exactly as produced (BOM stripped). */
  readonly text: string;
  readonly spans: ObjectSpans;
}

export type ParseResult =
  | { ok: true; event: RawEvent; parsed: ParsedEvent; bytes: number }
  | { ok: false; reason: MalformedReason; detail: string; bytes: number };

/** Kinesis partition keys are 1-256 Unicode characters. */
const MAX_CUSTOMER_ID_CHARS = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes one Kinesis record into a raw event, or says why it is malformed. Never throws. */
export function parseRecord(record: KinesisStreamRecord, maxRecordBytes: number): ParseResult {
  const data = Buffer.from(record.kinesis.data ?? '', 'base64');
  const bytes = data.length;
  if (bytes > maxRecordBytes) {
    return {
      ok: false,
      reason: 'record_too_large',
      detail: `${bytes} bytes > MAX_RECORD_BYTES ${maxRecordBytes}`,
      bytes,
    };
  }
  let parsed: unknown;
  let text: string;
  try {
    text = utf8.decode(data);
    parsed = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof TypeError ? 'data is not valid UTF-8' : (err as Error).message;
    return { ok: false, reason: 'invalid_json', detail, bytes };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : typeof parsed;
    return { ok: false, reason: 'not_an_object', detail: `JSON ${kind}, expected an object`, bytes };
  }
  const customerId = (parsed as Record<string, unknown>).customer_id;
  if (typeof customerId !== 'string' || customerId.length === 0) {
    const detail =
      customerId === undefined
        ? 'customer_id is absent'
        : `customer_id must be a non-empty string, got ${JSON.stringify(customerId)}`;
    return { ok: false, reason: 'missing_customer_id', detail: detail.slice(0, 300), bytes };
  }
  if ([...customerId].length > MAX_CUSTOMER_ID_CHARS) {
    return {
      ok: false,
      reason: 'missing_customer_id',
      detail: `customer_id longer than ${MAX_CUSTOMER_ID_CHARS} characters`,
      bytes,
    };
  }
  let spans: ObjectSpans;
  try {
    spans = scanMembers(text);
  } catch (err) {
    // JSON.parse accepted it, so this is a scanner bug; never emit what we cannot splice exactly.
    return { ok: false, reason: 'invalid_json', detail: `lossless scan failed: ${(err as Error).message}`, bytes };
  }
  const event = parsed as RawEvent;
  return { ok: true, event, parsed: { customerId, value: event, text, spans }, bytes };
}

/** Fields the handler writes; a raw field of the same name is replaced. */
const HANDLER_FIELDS = new Set(['record_type', 'customer_name', 'customer']);
const HANDLER_FIELDS_AND_ID = new Set([...HANDLER_FIELDS, 'event_id']);

/** The ingest stream's ARN without an enhanced fan-out consumer suffix. */
function streamArnOf(eventSourceARN: string | undefined): string {
  return (eventSourceARN ?? '').replace(/\/consumer\/.*$/, '');
}

/**
 * Deterministic id of an ingest record, the same on every delivery of it: `k-` + the first 32
 * hex digits of SHA-256 over `<stream ARN>/<shard id>/<sequence number>` (stream ARN without a
 * `/consumer/...` suffix; shard id from eventID `shardId-...:<seq>`). A replay that rebuilds the
 * event as Lambda does (same eventSourceARN and eventID) derives the same id.
 */
export function deriveEventId(record: KinesisStreamRecord): string {
  const eventId = typeof record.eventID === 'string' ? record.eventID : '';
  const colon = eventId.indexOf(':');
  const shardId = colon > 0 ? eventId.slice(0, colon) : '';
  const material = `${streamArnOf(record.eventSourceARN)}/${shardId}/${record.kinesis.sequenceNumber}`;
  return `k-${createHash('sha256').update(material).digest('hex').slice(0, 32)}`;
}

/**
 * `"customer_name":…,"customer":…` for a profile (or an unknown customer): the handler's part of
 * every enriched event, computed once per profile and cached as text.
 */
export function profileFragment(profile: Profile | null): string {
  let customerName: string | null = null;
  let customer: Record<string, unknown> | null = null;
  if (profile !== null) {
    const { pk: _pk, name, ...rest } = profile;
    customerName =
      name === undefined || name === null
        ? null
        : typeof name === 'string'
          ? name
          : name instanceof RawNumber
            ? name.text
            : String(name);
    customer = rest;
  }
  return `"customer_name":${JSON.stringify(customerName)},"customer":${toJson(customer)}`;
}

/**
 * The enriched event as UTF-8 bytes: the raw text with `event_id` (when the input has no usable
 * one), `record_type` and the profile fragment spliced in. Raw members are copied verbatim.
 * `event_id`: a non-empty string is kept as written; a number becomes the string of its exact
 * text; anything else (absent, null, "", boolean, object, array) is replaced by the derived id.
 */
export function enrichText(parsed: ParsedEvent, fragment: string, record: KinesisStreamRecord): Buffer {
  const id = parsed.value.event_id;
  let idMember = '';
  let drop: ReadonlySet<string> = HANDLER_FIELDS;
  if (typeof id !== 'string' || id.length === 0) {
    drop = HANDLER_FIELDS_AND_ID;
    let value: string;
    if (typeof id === 'number') {
      const last = [...parsed.spans.members].reverse().find((m) => m.key === 'event_id')!;
      value = parsed.text.slice(last.valueStart, last.end);
    } else {
      value = deriveEventId(record);
    }
    idMember = `"event_id":${JSON.stringify(value)},`;
  }
  return Buffer.from(spliceMembers(parsed.text, parsed.spans, drop, `${idMember}"record_type":"event",${fragment}`));
}

/**
 * Enriched event: the raw event, then `record_type`, `customer_name` (the item's `name`) and
 * `customer` (every other attribute of the item except the key `pk`). Unknown customer:
 * `customer_name: null, customer: null`. The three added fields replace same-named raw fields.
 */
export function enrich(event: RawEvent, profile: Profile | null): Record<string, unknown> {
  let customerName: string | null = null;
  let customer: Record<string, unknown> | null = null;
  if (profile !== null) {
    const { pk: _pk, name, ...rest } = profile;
    customerName = name === undefined || name === null ? null : typeof name === 'string' ? name : String(name);
    customer = rest;
  }
  return { ...event, record_type: 'event', customer_name: customerName, customer };
}

/** SQS accepts at most 256 KiB per message and per batch; stay well inside it. */
export const DLQ_MAX_DATA_CHARS = 192 * 1024;

/** Escapes everything outside printable ASCII so the body only holds characters SQS accepts. */
function asciiSafe(text: string, max = 500): string {
  return text.slice(0, max).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Body of the DLQ message for one malformed record: why, where from, and the original data. */
export function dlqBody(record: KinesisStreamRecord, reason: MalformedReason, detail: string, bytes: number): string {
  const data = record.kinesis.data ?? '';
  const truncated = data.length > DLQ_MAX_DATA_CHARS;
  return JSON.stringify({
    reason,
    detail: asciiSafe(detail),
    failed_at: new Date().toISOString(),
    kinesis: {
      event_source_arn: record.eventSourceARN,
      event_id: record.eventID,
      shard_id: typeof record.eventID === 'string' ? record.eventID.split(':')[0] : undefined,
      sequence_number: record.kinesis.sequenceNumber,
      partition_key: asciiSafe(record.kinesis.partitionKey ?? '', 1024),
      approximate_arrival_timestamp: record.kinesis.approximateArrivalTimestamp,
      aws_region: record.awsRegion,
    },
    data_bytes: bytes,
    data_sha256: createHash('sha256').update(Buffer.from(data, 'base64')).digest('hex'),
    data_truncated: truncated,
    // base64 of the record's data exactly as Kinesis delivered it (cut when too big for SQS;
    // the kinesis block then locates the full record in the stream for its retention period).
    data: truncated ? data.slice(0, DLQ_MAX_DATA_CHARS) : data,
  });
}

/** Compares Kinesis sequence numbers (decimal strings of up to 128 bits). */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
