/**
 * A small HTTP proxy in front of the emulators, for two jobs:
 *
 *   routing  one endpoint for clients that take a single endpoint URL (the Flink job's
 *            aws.endpoint.url serves Kinesis *and* Timestream): a request goes to the upstream
 *            of the first route whose X-Amz-Target prefix matches, else to the default upstream;
 *   faults   on demand, a matching request is answered by the proxy instead of the upstream
 *            (AWS's throttling errors, 429 / 503), or its connection is reset, while the rule is
 *            active (a number of requests, or until a time); all other traffic passes unchanged.
 *
 * Only plain HTTP (the emulators on 127.0.0.1). The body is streamed through untouched, so
 * signatures (SigV4 over host + body) stay valid: the Host header is kept as the client sent it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  /** X-Amz-Target prefix, e.g. "Kinesis_20131202." */
  readonly targetPrefix: string;
  readonly upstream: string;
}

export type FaultAction =
  /** Answer with this status, JSON body and headers (e.g. AWS's throttling error). */
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Record<string, string>;
    }
  /** Destroy the client connection without an answer (a network failure). */
  | { readonly kind: 'reset' };

export interface FaultRule {
  readonly name: string;
  /** Which requests: X-Amz-Target prefix and/or a path regex and/or a method. */
  readonly target?: string;
  readonly path?: RegExp;
  readonly method?: string;
  readonly action: FaultAction;
  /** Active for this many matching requests (default unlimited)… */
  readonly count?: number;
  /** …and/or until this time (ms since epoch). */
  readonly untilMs?: number;
  /** Only every n-th matching request is faulted (default 1 = every one). */
  readonly every?: number;
}

interface ActiveRule extends FaultRule {
  seen: number;
  hits: number;
}

export class FaultProxy {
  private server: http.Server | undefined;
  private readonly rules: ActiveRule[] = [];
  /** Faulted requests per rule name (what the report prints). */
  readonly injected = new Map<string, number>();
  /** Requests passed through, by target (or path for REST). */
  readonly passed = new Map<string, number>();
  endpoint = '';

  constructor(
    private readonly defaultUpstream: string,
    private readonly routes: readonly Route[] = [],
  ) {}

  async start(): Promise<string> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.server = http.createServer((req, res) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const rule = this.match(req, target);
      if (rule) {
        this.injected.set(rule.name, (this.injected.get(rule.name) ?? 0) + 1);
        req.resume();
        if (rule.action.kind === 'reset') {
          req.socket.destroy();
          return;
        }
        const body = JSON.stringify(rule.action.body);
        res.writeHead(rule.action.status, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(body),
          ...rule.action.headers,
        });
        res.end(body);
        return;
      }
      const key = target || `${req.method} ${(req.url ?? '').split('?')[0]}`;
      this.passed.set(key, (this.passed.get(key) ?? 0) + 1);
      const upstream = new URL(
        this.routes.find((r) => target.startsWith(r.targetPrefix))?.upstream ?? this.defaultUpstream,
      );
      const up = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      up.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault-proxy: upstream ${upstream.host} failed: ${e.message}`);
      });
      req.pipe(up);
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  private match(req: http.IncomingMessage, target: string): ActiveRule | undefined {
    const now = Date.now();
    for (const r of this.rules) {
      if (r.target !== undefined && !target.startsWith(r.target)) continue;
      if (r.path && !r.path.test(req.url ?? '')) continue;
      if (r.method && r.method !== req.method) continue;
      if (r.untilMs !== undefined && now >= r.untilMs) continue;
      if (r.count !== undefined && r.hits >= r.count) continue;
      r.seen++;
      if ((r.seen - 1) % (r.every ?? 1) !== 0) continue;
      r.hits++;
      return r;
    }
    return undefined;
  }

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, seen: 0, hits: 0 });
  }

  clear(): void {
    this.rules.length = 0;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** AWS JSON-protocol error bodies the SDKs map to their exception types. */
export const awsError = (type: string, message: string, status = 400): FaultAction => ({
  kind: 'respond',
  status,
  body: { __type: type, message },
  headers: { 'x-amzn-errortype': type },
});

export const KINESIS_THROTTLED = awsError(
  'ProvisionedThroughputExceededException',
  'Rate exceeded for shard (injected by fault-proxy)',
);
export const DYNAMODB_THROTTLED = awsError(
  'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  'The level of configured provisioned throughput for the table was exceeded (injected by fault-proxy)',
);
export const OPENSEARCH_429: FaultAction = {
  kind: 'respond',
  status: 429,
  body: {
    error: {
      root_cause: [{ type: 'es_rejected_execution_exception', reason: 'rejected execution (injected by fault-proxy)' }],
      type: 'es_rejected_execution_exception',
      reason: 'rejected execution (injected by fault-proxy)',
    },
    status: 429,
  },
  headers: { 'content-type': 'application/json' },
};
export const SERVICE_UNAVAILABLE = awsError('ServiceUnavailable', 'Service unavailable (injected by fault-proxy)', 503);
