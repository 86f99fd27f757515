/**
 * opensearch-setup: the post-apply step of firehose-opensearch under fine-grained access control
 * (FGAC). Run by `atmos opensearch-setup -s <stack>` (atmos.yaml `commands:`), which the deploy
 * workflow calls after `terraform deploy firehose-opensearch`.
 *
 * It applies, idempotently (every request is a PUT of the full desired state):
 *   1. PUT _ingest/pipeline/<name>, for each pipeline    components/firehose-opensearch/events-ingest-pipelines.json,
 *      in file order (the pipelines called by another come first)
 *   2. PUT _index_template/events                        components/firehose-opensearch/events-index-template.json
 *      (its index.default_pipeline must name a pipeline of step 1)
 *   3. PUT <the template's index patterns>/_settings?allow_no_indices=true   the same index.default_pipeline on
 *      daily indices that already exist (created before this template version), so today's index is idempotent
 *      too, not only tomorrow's
 *   4. PUT _plugins/_security/api/roles/events_writer     least privilege for Firehose on the template's index patterns
 *   5. PUT _plugins/_security/api/rolesmapping/events_writer   backend_roles = [the delivery role ARN]
 * Requests are SigV4-signed (service "es") with the default AWS credential chain; the caller must
 * be the domain's FGAC master role (opensearch `admin_role_arn`) or mapped to `security_manager`.
 *
 * Usage:
 *   npx tsx scripts/opensearch-setup.ts --stack dev
 *       endpoint = `atmos terraform output opensearch -s dev` output domain_endpoint,
 *       role ARN = `atmos terraform output firehose-opensearch -s dev` output role_arn
 *   npx tsx scripts/opensearch-setup.ts --endpoint https://search-...es.amazonaws.com --role-arn arn:aws:iam::...:role/...
 * Options: --region <r> (default: from the endpoint host, else AWS_REGION / AWS_DEFAULT_REGION),
 *   --no-sign (unsigned requests, for a local node), --skip-security (template only: a node without
 *   the security plugin). Environment: ATMOS_BIN (default .tools/bin/atmos, else atmos on PATH).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SignatureV4 } from '@smithy/signature-v4';
import { atmosEnv } from './lib/atmos';
import { sigV4Signer } from './lib/sigv4';

const REPO_ROOT = join(__dirname, '..');
export const TEMPLATE_FILE = join(REPO_ROOT, 'components', 'firehose-opensearch', 'events-index-template.json');
export const TEMPLATE_NAME = 'events';
export const PIPELINES_FILE = join(REPO_ROOT, 'components', 'firehose-opensearch', 'events-ingest-pipelines.json');
/** Ingest pipeline ids: what PUT _ingest/pipeline/<id> accepts without URL escaping. */
const PIPELINE_NAME = /^[a-z0-9][a-z0-9_-]{0,254}$/;
export const ROLE_NAME = 'events_writer';
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;
/** search-<domain>-<id>.<region>.es.amazonaws.com (or vpc-…; .com.cn in China). */
const ENDPOINT_REGION = /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.es\.amazonaws\.com(?:\.cn)?$/;
const RETRIABLE_STATUS = new Set([429, 502, 503, 504]);
const MAX_ATTEMPTS = 3;
const TIMEOUT_MS = 30_000;

/**
 * The events_writer role: what Firehose needs to bulk-index into the daily indices, nothing more.
 * The default pipeline (events-idempotent) needs no permission of its own: it runs inside the
 * bulk action, and the index it picks (events-YYYY-MM-DD of the record's timestamp) is inside
 * the same index patterns. No cluster:admin/ingest/* action is granted: Firehose neither reads
 * nor changes pipelines.
 * AWS's FGAC example for Firehose grants cluster_composite_ops + cluster_monitor and
 * crud + create_index + manage on the index pattern; `manage` (delete/close indices, change
 * settings) and `crud` (read every document, delete, update) are more than delivery needs, so the
 * role names the individual actions instead.
 */
export function eventsWriterRole(indexPatterns: readonly string[]): Record<string, unknown> {
  return {
    description:
      'Firehose delivery (firehose-opensearch): bulk-index into the daily events indices. Managed by scripts/opensearch-setup.ts.',
    cluster_permissions: [
      // GET / and health/stats checks (read-only cluster monitoring)
      'cluster_monitor',
      // the _bulk API is authorized at cluster level first (indices:data/write/bulk)
      'indices:data/write/bulk*',
    ],
    index_permissions: [
      {
        index_patterns: [...indexPatterns],
        allowed_actions: [
          // shard-level bulk (indices:data/write/bulk[s]) and its `index` items
          'indices:data/write/bulk*',
          'indices:data/write/index',
          // the first delivery of a day creates events-YYYY-MM-DD (bulk auto-creates through
          // indices:admin/auto_create on OpenSearch 2.x; indices:admin/create for explicit creates)
          'indices:admin/create',
          'indices:admin/auto_create',
          // mapping updates while indexing (dynamic mapping, if the template ever allows it)
          'indices:admin/mapping/put',
          'indices:admin/mapping/auto_put',
        ],
      },
    ],
  };
}

export function eventsWriterMapping(roleArn: string): Record<string, unknown> {
  return {
    description: 'The firehose-opensearch delivery role. Managed by scripts/opensearch-setup.ts.',
    backend_roles: [roleArn],
  };
}

// ------------------------------------------------------------------------------------ arguments

interface Options {
  stack?: string;
  endpoint?: string;
  roleArn?: string;
  region?: string;
  sign: boolean;
  security: boolean;
}

const USAGE = `usage: opensearch-setup (--stack <stack> | --endpoint <url> [--role-arn <arn>]) [--region <region>] [--no-sign] [--skip-security]`;

class SetupError extends Error {}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: 'string', short: 's' },
        endpoint: { type: 'string' },
        'role-arn': { type: 'string' },
        region: { type: 'string' },
        'no-sign': { type: 'boolean', default: false },
        'skip-security': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new SetupError(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const options: Options = {
    stack: values.stack,
    endpoint: values.endpoint,
    roleArn: values['role-arn'],
    region: values.region,
    sign: !values['no-sign'],
    security: !values['skip-security'],
  };
  if (!options.stack && !options.endpoint)
    throw new SetupError(`give --stack, or --endpoint (and --role-arn)\n${USAGE}`);
  if (options.stack && (options.endpoint || options.roleArn)) {
    throw new SetupError(
      `--stack reads the endpoint and role ARN from Atmos; do not combine it with --endpoint/--role-arn\n${USAGE}`,
    );
  }
  if (!options.stack && options.security && !options.roleArn) {
    throw new SetupError(`--role-arn is required (or --skip-security)\n${USAGE}`);
  }
  return options;
}

// ----------------------------------------------------------------------------- atmos outputs

function atmosBin(): string {
  if (process.env.ATMOS_BIN) return process.env.ATMOS_BIN;
  const pinned = join(REPO_ROOT, '.tools', 'bin', 'atmos');
  return existsSync(pinned) ? pinned : 'atmos';
}

/**
 * `atmos terraform output <component> -s <stack> -- -json` prints `tofu init` and
 * `workspace select` chatter on stdout before the JSON document, so the document is the
 * trailing part of stdout that starts on a line of its own with "{".
 */
export function trailingJson(stdout: string): Record<string, unknown> | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes (ESC [ ... m) from Atmos' output
  const lines = stdout.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith('{')) continue;
    try {
      const parsed: unknown = JSON.parse(lines.slice(i).join('\n'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // not the start of the document: keep looking further up
    }
  }
  return undefined;
}

function terraformOutput(component: string, stack: string, name: string): string {
  const bin = atmosBin();
  const args = ['terraform', 'output', component, '-s', stack, '--', '-json'];
  const shown = `atmos ${args.join(' ')}`;
  console.log(`opensearch-setup: reading ${component}.${name} (${shown})`);
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: atmosEnv(),
  });
  if (r.error) throw new SetupError(`${shown} could not run (${bin}): ${r.error.message}`);
  if (r.status !== 0) {
    throw new SetupError(`${shown} failed (exit ${r.status}):\n${excerpt(`${r.stderr}\n${r.stdout}`.trim(), 2000)}`);
  }
  const outputs = trailingJson(r.stdout);
  if (!outputs) throw new SetupError(`${shown} printed no JSON outputs:\n${excerpt(r.stdout, 2000)}`);
  const output = outputs[name] as { value?: unknown } | undefined;
  if (!output || typeof output.value !== 'string' || output.value === '') {
    const known = Object.keys(outputs).join(', ') || 'none: is the component applied in this stack?';
    throw new SetupError(`${shown}: no string output "${name}" (outputs: ${known})`);
  }
  return output.value;
}

// ------------------------------------------------------------------------------------ HTTP

interface Response {
  status: number;
  statusText: string;
  body: string;
}

/** The pipelines file: pipeline id -> pipeline body, in the order they must be created. */
export function readPipelines(text: string, file = PIPELINES_FILE): Array<{ name: string; body: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SetupError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw new SetupError(`${file}: must be an object of pipeline id -> pipeline definition`);
  }
  return Object.entries(parsed as Record<string, unknown>).map(([name, body]) => {
    if (!PIPELINE_NAME.test(name)) throw new SetupError(`${file}: pipeline id "${name}" must match ${PIPELINE_NAME}`);
    const processors = (body as { processors?: unknown } | null)?.processors;
    if (!Array.isArray(processors) || processors.length === 0) {
      throw new SetupError(`${file}: pipeline "${name}" needs a non-empty "processors" list`);
    }
    return { name, body: JSON.stringify(body) };
  });
}

interface Target {
  url: URL;
  /** Path prefix of the endpoint without a trailing slash ("" for a bare host). */
  basePath: string;
  signer?: SignatureV4;
}

/** RFC 3986 escaping of a path segment (encodeURIComponent also escapes !'()*). */
const uriEscape = (v: string) =>
  encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function excerpt(text: string, max = 500): string {
  const flat = text.trim();
  return flat.length > max ? `${flat.slice(0, max)}… (${flat.length} chars)` : flat;
}

export function normalizeEndpoint(endpoint: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new SetupError(`invalid --endpoint "${endpoint}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new SetupError(`invalid --endpoint "${endpoint}": http(s) only`);
  url.search = '';
  url.hash = '';
  return url;
}

export function resolveRegion(explicit: string | undefined, url: URL): string | undefined {
  return (
    explicit ?? ENDPOINT_REGION.exec(url.hostname)?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION
  );
}

async function send(target: Target, method: string, pathAndQuery: string, body: string): Promise<Response> {
  const url = target.url;
  const [path, search = ''] = pathAndQuery.split('?', 2);
  const query = Object.fromEntries(new URLSearchParams(search));
  const fullPath = `${target.basePath}${path}`;
  const requestPath = search ? `${fullPath}?${search}` : fullPath;
  let headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (target.signer) {
    const signed = await target.signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: fullPath,
      query,
      headers,
      body,
    });
    headers = signed.headers;
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const req = client.request(
      { method, hostname: url.hostname, port: url.port || undefined, path: requestPath, headers, timeout: TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** PUTs one document; retries only throttling/unavailable answers and network errors. */
async function put(target: Target, path: string, document: string, what: string): Promise<Response> {
  const label = `PUT ${path} (${what})`;
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    try {
      const res = await send(target, 'PUT', path, document);
      if (res.status >= 200 && res.status < 300) return res;
      failure = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}: ${excerpt(res.body) || '(empty body)'}`;
      if (!RETRIABLE_STATUS.has(res.status) || attempt >= MAX_ATTEMPTS) {
        throw new SetupError(`${label} failed: ${failure}${hint(res.status, path)}`);
      }
    } catch (e) {
      if (e instanceof SetupError) throw e;
      failure = (e as Error).message;
      if (attempt >= MAX_ATTEMPTS) throw new SetupError(`${label} failed: ${failure}`);
    }
    console.log(`opensearch-setup: ${label}: ${failure}; retrying (${attempt}/${MAX_ATTEMPTS - 1})`);
    await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
  }
}

function hint(status: number, path: string): string {
  if (status === 403 && path.startsWith('/_plugins/_security')) {
    return '\n  (the security API needs the FGAC master role, opensearch admin_role_arn, or a role mapped to security_manager)';
  }
  if (status === 403)
    return '\n  (the domain access policy must admit the caller, and under FGAC the caller needs a mapped role)';
  if (status === 404 && path.startsWith('/_plugins/_security')) {
    return '\n  (no security plugin on this node? use --skip-security for a node without fine-grained access control)';
  }
  return '';
}

function summary(res: Response): string {
  try {
    const body = JSON.parse(res.body) as { acknowledged?: boolean; status?: string; message?: string };
    if (body.acknowledged !== undefined) return `HTTP ${res.status}, acknowledged=${body.acknowledged}`;
    if (body.status || body.message)
      return `HTTP ${res.status}, ${[body.status, body.message].filter(Boolean).join(': ')}`;
  } catch {
    // fall through
  }
  return `HTTP ${res.status}`;
}

// ------------------------------------------------------------------------------------ main

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  let endpoint = options.endpoint;
  let roleArn = options.roleArn;
  if (options.stack) {
    endpoint = terraformOutput('opensearch', options.stack, 'domain_endpoint');
    if (options.security) roleArn = terraformOutput('firehose-opensearch', options.stack, 'role_arn');
  }
  if (options.security && !ROLE_ARN.test(roleArn ?? '')) {
    throw new SetupError(`delivery role ARN "${roleArn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
  }
  const url = normalizeEndpoint(endpoint as string);

  const templateText = readFileSync(TEMPLATE_FILE, 'utf8');
  let template: { index_patterns?: unknown; template?: { settings?: { index?: { default_pipeline?: unknown } } } };
  try {
    template = JSON.parse(templateText) as typeof template;
  } catch (e) {
    throw new SetupError(`${TEMPLATE_FILE} is not valid JSON: ${(e as Error).message}`);
  }
  const patterns = template.index_patterns;
  if (
    !Array.isArray(patterns) ||
    patterns.length === 0 ||
    !patterns.every((p) => typeof p === 'string' && /^[a-z0-9*_-]+$/.test(p))
  ) {
    throw new SetupError(
      `${TEMPLATE_FILE}: index_patterns must be a non-empty list of index patterns (a-z, 0-9, "*", "_", "-")`,
    );
  }
  const pipelines = readPipelines(readFileSync(PIPELINES_FILE, 'utf8'));
  const defaultPipeline = template.template?.settings?.index?.default_pipeline;
  if (typeof defaultPipeline !== 'string' || !pipelines.some((p) => p.name === defaultPipeline)) {
    throw new SetupError(
      `${TEMPLATE_FILE}: template.settings.index.default_pipeline must name a pipeline of ${PIPELINES_FILE} (one of: ${pipelines.map((p) => p.name).join(', ')}); it is ${JSON.stringify(defaultPipeline)}`,
    );
  }

  const target: Target = { url, basePath: url.pathname.replace(/\/+$/, '') };
  let how = 'unsigned';
  if (options.sign) {
    const region = resolveRegion(options.region, url);
    if (!region)
      throw new SetupError(
        `no region for SigV4: pass --region (or set AWS_REGION); the endpoint host ${url.hostname} names none`,
      );
    target.signer = sigV4Signer('es', region);
    how = `SigV4 service es, region ${region}`;
  }
  console.log(`opensearch-setup: ${url.origin}${target.basePath} (${how})`);

  const steps: Array<{ path: string; body: string; what: string }> = [
    ...pipelines.map((p) => ({ path: `/_ingest/pipeline/${p.name}`, body: p.body, what: 'ingest pipeline' })),
    {
      path: `/_index_template/${TEMPLATE_NAME}`,
      body: templateText,
      what: `index template for ${patterns.join(', ')}`,
    },
    {
      // Indices created before this template version keep their settings; give them the default
      // pipeline too. allow_no_indices: a new domain has no daily index yet (404 otherwise).
      // Escaped on the wire (events-%2A): SigV4 then signs the twice-escaped form, as AWS expects.
      path: `/${uriEscape(patterns.join(','))}/_settings?allow_no_indices=true`,
      body: JSON.stringify({ index: { default_pipeline: defaultPipeline } }),
      what: `default pipeline ${defaultPipeline} on existing indices`,
    },
  ];
  if (options.security) {
    steps.push(
      {
        path: `/_plugins/_security/api/roles/${ROLE_NAME}`,
        body: JSON.stringify(eventsWriterRole(patterns)),
        what: 'Firehose writer role',
      },
      {
        path: `/_plugins/_security/api/rolesmapping/${ROLE_NAME}`,
        body: JSON.stringify(eventsWriterMapping(roleArn as string)),
        what: `map ${roleArn}`,
      },
    );
  } else {
    console.log('opensearch-setup: --skip-security: no role or role mapping');
  }
  for (const step of steps) {
    const res = await put(target, step.path, step.body, step.what);
    console.log(`opensearch-setup: PUT ${step.path} (${step.what}): ${summary(res)}`);
  }
  console.log(`opensearch-setup: done (${steps.length} of ${steps.length} requests succeeded)`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    const message = e instanceof SetupError ? e.message : ((e as Error).stack ?? String(e));
    process.stderr.write(`opensearch-setup: ERROR: ${message}\n`);
    process.exit(1);
  });
}
