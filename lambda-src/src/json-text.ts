/**
 * Lossless JSON helpers. The handler never re-serializes a raw event: JSON.parse validates the
 * text (and decodes the few string fields the handler reads), then {@link scanMembers} finds the
 * byte-exact spans of the top-level members so the handler's own fields can be spliced into the
 * original text. Every other member (numbers beyond 2^53, `1.10`, key order, escapes) stays
 * exactly as the producer wrote it.
 */

export interface Member {
  /** Decoded key. */
  readonly key: string;
  /** Index of the key's opening quote. */
  readonly start: number;
  /** Index of the first character of the value. */
  readonly valueStart: number;
  /** Index just past the value. */
  readonly end: number;
}

export interface ObjectSpans {
  /** Index of the opening `{`. */
  readonly open: number;
  /** Index of the closing `}`. */
  readonly close: number;
  readonly members: Member[];
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Index just past the string literal whose opening quote is at `i`. */
function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c)
      j++; // backslash: skip the escaped character (\uXXXX needs no special case)
    else if (c === 0x22) return j + 1;
  }
  throw new SyntaxError('unterminated string');
}

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the JSON value that starts at `i` (text already validated). */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return skipString(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x22) {
        j = skipString(text, j) - 1;
      } else if (d === 0x7b || d === 0x5b) {
        depth++;
      } else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new SyntaxError('unterminated container');
  }
  // number, true, false, null: up to the next delimiter
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || WS.has(d)) break;
    j++;
  }
  if (j === i) throw new SyntaxError(`unexpected character at ${i}`);
  return j;
}

/**
 * Spans of the top-level members of a JSON object text. The caller must have validated the text
 * with JSON.parse (and checked that it is an object): the scanner only tracks strings and
 * nesting, and throws a SyntaxError if the text turns out not to be a well-formed object anyway.
 */
export function scanMembers(text: string): ObjectSpans {
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 0x7b) throw new SyntaxError('not an object');
  const open = i;
  const members: Member[] = [];
  i = skipWs(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return { open, close: i, members };
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) throw new SyntaxError(`expected a key at ${i}`);
    const start = i;
    const keyEnd = skipString(text, i);
    const rawKey = text.slice(start + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(text.slice(start, keyEnd)) as string) : rawKey;
    i = skipWs(text, keyEnd);
    if (text.charCodeAt(i) !== 0x3a) throw new SyntaxError(`expected ':' at ${i}`);
    const valueStart = skipWs(text, i + 1);
    const end = skipValue(text, valueStart);
    members.push({ key, start, valueStart, end });
    i = skipWs(text, end);
    const c = text.charCodeAt(i);
    if (c === 0x7d) return { open, close: i, members };
    if (c !== 0x2c) throw new SyntaxError(`expected ',' or '}' at ${i}`);
    i = skipWs(text, i + 1);
  }
}

/**
 * The object text with every member whose key is in `drop` removed and `added` (a string of
 * `"key":value` pairs joined by commas, possibly empty) appended as the last members. With
 * nothing to drop, the original text is kept byte for byte up to its closing brace; otherwise
 * the kept members are copied verbatim and joined with a plain `,`.
 */
export function spliceMembers(text: string, spans: ObjectSpans, drop: ReadonlySet<string>, added: string): string {
  const removing = spans.members.some((m) => drop.has(m.key));
  if (!removing) {
    if (added === '') return text.slice(spans.open, spans.close + 1);
    return `${text.slice(spans.open, spans.close)}${spans.members.length > 0 ? ',' : ''}${added}}`;
  }
  const kept = spans.members.filter((m) => !drop.has(m.key)).map((m) => text.slice(m.start, m.end));
  if (added !== '') kept.push(added);
  return `{${kept.join(',')}}`;
}

/** A JSON number kept as the exact decimal text it came as (DynamoDB `N`), written verbatim. */
export class RawNumber {
  constructor(readonly text: string) {}
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export function isJsonNumber(text: string): boolean {
  return JSON_NUMBER.test(text);
}

/**
 * JSON.stringify for profile values, plus {@link RawNumber} written as its text (or as a string
 * when the text is not a JSON number, so the output is always valid JSON).
 */
export function toJson(value: unknown): string {
  if (value instanceof RawNumber) return isJsonNumber(value.text) ? value.text : JSON.stringify(value.text);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${toJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
