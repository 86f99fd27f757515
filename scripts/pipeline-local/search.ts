/** The OpenSearch node over HTTP: the blueprint query verbatim, read-back of every document. */
import * as http from 'node:http';

/** The blueprint's "Real-Time Analytics Query" (blueprint.md), sent exactly as written. */
export const BLUEPRINT_QUERY_PATH = 'events-*/_search';
export const BLUEPRINT_QUERY_BODY = `{
  "query": {
    "range": {
      "timestamp": {
        "gte": "now-5m"
      }
    }
  },
  "aggs": {
    "events_per_minute": {
      "date_histogram": {
        "field": "timestamp",
        "fixed_interval": "1m"
      }
    }
  }
}`;

/** One request over node:http (fetch refuses a GET with a body, and the blueprint query is one). */
export function os(
  endpoint: string,
  method: string,
  path: string,
  body?: string | object,
  // biome-ignore lint/suspicious/noExplicitAny: OpenSearch responses vary per API
): Promise<{ status: number; json: any }> {
  const url = new URL(`${endpoint}/${path}`);
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        headers:
          data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = { text };
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

export interface Bucket {
  key: number;
  count: number;
}

export interface QueryAnswer {
  /** When the query was sent (ms): `now` of its range, within the round trip. */
  sentAt: number;
  total: number;
  buckets: Bucket[];
}

export async function blueprintQuery(endpoint: string): Promise<QueryAnswer> {
  const sentAt = Date.now();
  const r = await os(endpoint, 'GET', BLUEPRINT_QUERY_PATH, BLUEPRINT_QUERY_BODY);
  if (r.status !== 200) throw new Error(`blueprint query: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 500)}`);
  return {
    sentAt,
    total: Number(r.json.hits.total.value),
    buckets: (r.json.aggregations?.events_per_minute?.buckets ?? []).map((b: { key: number; doc_count: number }) => ({
      key: b.key,
      count: b.doc_count,
    })),
  };
}

export interface Doc {
  index: string;
  id: string;
  version?: number;
  source: Record<string, unknown>;
}

/** Every document of events-* (search_after over _id order). */
export async function allDocs(endpoint: string): Promise<Doc[]> {
  const out: Doc[] = [];
  let after: unknown[] | undefined;
  for (;;) {
    const r = await os(endpoint, 'POST', 'events-*/_search?allow_no_indices=true', {
      size: 5000,
      version: true,
      sort: [{ _index: 'asc' }, { _id: 'asc' }],
      ...(after ? { search_after: after } : {}),
      query: { match_all: {} },
    });
    if (r.status === 404) return out;
    if (r.status !== 200) throw new Error(`read-back: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 500)}`);
    const hits = r.json.hits.hits as {
      _index: string;
      _id: string;
      _version?: number;
      _source: Record<string, unknown>;
      sort: unknown[];
    }[];
    for (const h of hits) out.push({ index: h._index, id: h._id, version: h._version, source: h._source });
    if (hits.length < 5000) return out;
    after = hits[hits.length - 1]!.sort;
  }
}

/** Of these ids, those a search finds now (searchable = after a refresh of the index). */
export async function searchable(endpoint: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await os(endpoint, 'POST', 'events-*/_search?allow_no_indices=true', {
    size: ids.length,
    _source: false,
    query: { ids: { values: ids } },
  });
  if (r.status !== 200) return new Set();
  return new Set((r.json.hits.hits as { _id: string }[]).map((h) => h._id));
}

/** Deletes every events-* index (isolation between scenarios). */
export async function wipeEvents(endpoint: string): Promise<void> {
  const r = await os(endpoint, 'GET', '_cat/indices/events-*?format=json');
  for (const i of (r.status === 200 ? r.json : []) as { index: string }[]) {
    const d = await os(endpoint, 'DELETE', encodeURIComponent(i.index));
    if (d.status !== 200) throw new Error(`DELETE ${i.index}: HTTP ${d.status}`);
  }
}

export async function refresh(endpoint: string): Promise<void> {
  const r = await os(endpoint, 'POST', 'events-*/_refresh?allow_no_indices=true');
  if (r.status !== 200) throw new Error(`_refresh: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
}
