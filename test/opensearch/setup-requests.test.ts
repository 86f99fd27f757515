/**
 * scripts/opensearch-setup.ts (the `atmos opensearch-setup` post-apply step) against a loopback
 * HTTP server that records every request: the embedded OpenSearch node in opensearch-it has no
 * security plugin, so the role and role-mapping requests are checked here, byte for byte, with
 * SigV4 signing on (dummy credentials) and the signature verified by an independent
 * implementation of the algorithm below.
 *
 * The --stack path is tested twice: with a fake atmos that records its arguments (the exact
 * invocation, noisy stdout, missing outputs), and end to end with the real Atmos 1.190.0 and
 * OpenTofu: the repo's own deploy workflow step (`atmos workflow deploy-all -f deploy -s sandbox
 * --from-step opensearch-setup`) → custom command from atmos.yaml → script → `atmos terraform
 * output` on local state of two stub components whose outputs point at the recorder.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUIET_ATMOS_ENV } from '../../scripts/lib/atmos';
import { normalizeEndpoint, readPipelines, resolveRegion, trailingJson } from '../../scripts/opensearch-setup';
import { REPO_ROOT } from '../support/paths';

const SCRIPT = join(REPO_ROOT, 'scripts', 'opensearch-setup.ts');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const TOOLS_BIN = join(REPO_ROOT, '.tools', 'bin');
const TEMPLATE_TEXT = readFileSync(
  join(REPO_ROOT, 'components', 'firehose-opensearch', 'events-index-template.json'),
  'utf8',
);
const PIPELINES_TEXT = readFileSync(
  join(REPO_ROOT, 'components', 'firehose-opensearch', 'events-ingest-pipelines.json'),
  'utf8',
);
const PIPELINES = JSON.parse(PIPELINES_TEXT) as Record<
  string,
  { processors: Record<string, Record<string, unknown>>[] }
>;
/** The pipelines in the order they must be created: a pipeline called by another one first. */
const PIPELINE_ORDER = ['events-idempotent-event', 'events-idempotent-aggregate', 'events-idempotent'];
/** `events-*`, escaped on the wire (SigV4 signs it escaped once more). */
const SETTINGS_PATH = '/events-%2A/_settings?allow_no_indices=true';
/** Every request of a full run, in order. */
const ALL_REQUESTS = [
  ...PIPELINE_ORDER.map((name) => `PUT /_ingest/pipeline/${name}`),
  'PUT /_index_template/events',
  `PUT ${SETTINGS_PATH}`,
  'PUT /_plugins/_security/api/roles/events_writer',
  'PUT /_plugins/_security/api/rolesmapping/events_writer',
];
const N = ALL_REQUESTS.length;

const ROLE_ARN = 'arn:aws:iam::123456789012:role/acme-ue1-dev-search-delivery';
const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'dummy-session-token';
const REGION = 'eu-central-1';

/** The role Firehose is mapped to, spelled out: changing the permissions must change this test. */
const EXPECTED_ROLE = {
  description:
    'Firehose delivery (firehose-opensearch): bulk-index into the daily events indices. Managed by scripts/opensearch-setup.ts.',
  cluster_permissions: ['cluster_monitor', 'indices:data/write/bulk*'],
  index_permissions: [
    {
      index_patterns: ['events-*'],
      allowed_actions: [
        'indices:data/write/bulk*',
        'indices:data/write/index',
        'indices:admin/create',
        'indices:admin/auto_create',
        'indices:admin/mapping/put',
        'indices:admin/mapping/auto_put',
      ],
    },
  ],
};
const expectedMapping = (arn: string) => ({
  description: 'The firehose-opensearch delivery role. Managed by scripts/opensearch-setup.ts.',
  backend_roles: [arn],
});

// ------------------------------------------------------------------------------ recorder

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Recorder {
  url: string;
  requests: Recorded[];
  /** Answer for a request (default 200 with a security-API or template-API style body). */
  respond: (req: Recorded) => { status: number; body: string };
  close(): Promise<void>;
}

function defaultAnswer(req: Recorded): { status: number; body: string } {
  if (req.path.startsWith('/_plugins/_security/')) {
    return { status: 200, body: JSON.stringify({ status: 'OK', message: `'${ROLE_ARN}' updated.` }) };
  }
  return { status: 200, body: '{"acknowledged":true}' };
}

async function startRecorder(): Promise<Recorder> {
  const recorder: Recorder = { url: '', requests: [], respond: defaultAnswer, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      recorder.requests.push(recorded);
      const answer = recorder.respond(recorded);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return recorder;
}

// ------------------------------------------------------------------------------ running

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** An environment with only the dummy credentials of this test (no profile, no real keys). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && k !== 'ATMOS_BIN') env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** Runs a command asynchronously (the recorder answers from this process's event loop). */
function run(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const runScript = (args: string[], env: NodeJS.ProcessEnv = cleanEnv()) => run(TSX, [SCRIPT, ...args], { env });

// ------------------------------------------------------------------------- SigV4 verifier

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Recomputes the AWS Signature Version 4 of a recorded request from the secret key and compares
 * it with the one in its Authorization header. Returns the parsed credential scope.
 */
function verifySigV4(
  req: Recorded,
  secretKey: string,
): { accessKey: string; date: string; region: string; service: string; signedHeaders: string[] } {
  const auth = String(req.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  expect(m, `Authorization header: ${auth}`).not.toBeNull();
  const [, accessKey, date, region, service, signedHeaderList, signature] = m as RegExpExecArray;
  const signedHeaders = signedHeaderList.split(';');
  const amzDate = String(req.headers['x-amz-date']);
  expect(amzDate.startsWith(date)).toBe(true);
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${String(req.headers[h]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = sha256Hex(req.body);
  const [path, query = ''] = req.path.split('?');
  // RFC 3986 escaping (encodeURIComponent leaves !'()* alone), applied twice to each decoded path
  // segment: every service but S3 signs the escaped form of the already escaped path.
  const uriEscape = (v: string) =>
    encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalPath = path
    .split('/')
    .map((segment) => uriEscape(uriEscape(decodeURIComponent(segment))))
    .join('/');
  const canonicalQuery = [...new URLSearchParams(query)]
    .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    req.method,
    canonicalPath,
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, date), region), service), 'aws4_request');
  expect(
    createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'),
    `signature of ${req.method} ${req.path}`,
  ).toBe(signature);
  return { accessKey, date, region, service, signedHeaders };
}

// ------------------------------------------------------------------------------ tests

describe('opensearch-setup requests (loopback recorder, signing on)', () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await startRecorder();
  });
  afterEach(() => {
    recorder.requests.length = 0;
    recorder.respond = defaultAnswer;
  });
  afterAll(async () => {
    await recorder.close();
  });

  it("PUTs the ingest pipelines, the index template, the existing indices' default pipeline, the events_writer role and its mapping, exactly, SigV4-signed for es", async () => {
    const r = await runScript(['--endpoint', recorder.url, '--role-arn', ROLE_ARN, '--region', REGION]);
    expect(r.status, r.stderr).toBe(0);

    expect(recorder.requests.map((q) => `${q.method} ${q.path}`)).toEqual(ALL_REQUESTS);
    const pipelines = recorder.requests.slice(0, PIPELINE_ORDER.length);
    const [template, settings, role, mapping] = recorder.requests.slice(PIPELINE_ORDER.length);
    for (const [i, q] of pipelines.entries()) expect(q.body).toBe(JSON.stringify(PIPELINES[PIPELINE_ORDER[i]!]));
    expect(template.body).toBe(TEMPLATE_TEXT);
    // The template makes the pipeline (PUT before it) the default of every new events-* index,
    // and the settings request gives indices that already exist the same default.
    expect(JSON.parse(template.body).template.settings.index.default_pipeline).toBe('events-idempotent');
    expect(settings.body).toBe('{"index":{"default_pipeline":"events-idempotent"}}');
    expect(role.body).toBe(JSON.stringify(EXPECTED_ROLE));
    expect(mapping.body).toBe(JSON.stringify(expectedMapping(ROLE_ARN)));

    for (const req of recorder.requests) {
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['x-amz-content-sha256']).toBe(sha256Hex(req.body));
      expect(req.headers['x-amz-security-token']).toBe(SESSION_TOKEN);
      const sig = verifySigV4(req, SECRET_KEY);
      expect(sig).toMatchObject({ accessKey: ACCESS_KEY, region: REGION, service: 'es' });
      expect(sig.signedHeaders).toEqual(
        expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'content-type']),
      );
    }
    expect(r.stdout).toContain(`(SigV4 service es, region ${REGION})`);
    expect(r.stdout).toContain('PUT /_plugins/_security/api/rolesmapping/events_writer');
    expect(r.stdout).toContain(`done (${N} of ${N} requests succeeded)`);
  });

  it('is idempotent: a second run sends the same full-state PUTs and succeeds', async () => {
    const first = await runScript(['--endpoint', recorder.url, '--role-arn', ROLE_ARN, '--region', REGION]);
    const second = await runScript(['--endpoint', recorder.url, '--role-arn', ROLE_ARN, '--region', REGION]);
    expect([first.status, second.status]).toEqual([0, 0]);
    const shape = (q: Recorded) => `${q.method} ${q.path} ${q.body}`;
    expect(recorder.requests).toHaveLength(2 * N);
    expect(recorder.requests.slice(N).map(shape)).toEqual(recorder.requests.slice(0, N).map(shape));
  });

  it('an HTTP 403 fails the run with a message naming the request, status and body, and stops there', async () => {
    recorder.respond = (req) =>
      req.path === '/_plugins/_security/api/roles/events_writer'
        ? {
            status: 403,
            body: '{"status":"FORBIDDEN","message":"No permission to access REST API: User acme-ci with Security roles [] does not have any access to endpoint ROLES"}',
          }
        : defaultAnswer(req);
    const r = await runScript(['--endpoint', recorder.url, '--role-arn', ROLE_ARN, '--region', REGION]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('PUT /_plugins/_security/api/roles/events_writer');
    expect(r.stderr).toContain('HTTP 403 Forbidden');
    expect(r.stderr).toContain('does not have any access to endpoint ROLES');
    expect(r.stderr).toContain('FGAC master role');
    // No retry of a 403, and no role mapping after the failed role.
    expect(recorder.requests.map((q) => `${q.method} ${q.path}`)).toEqual(ALL_REQUESTS.slice(0, N - 1));
  });

  it('retries 503 (domain still processing) and then succeeds', async () => {
    let failures = 1;
    recorder.respond = (req) =>
      req.path === '/_index_template/events' && failures-- > 0 ? { status: 503, body: 'busy' } : defaultAnswer(req);
    const r = await runScript(['--endpoint', recorder.url, '--role-arn', ROLE_ARN, '--region', REGION]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('HTTP 503');
    const template = ALL_REQUESTS.indexOf('PUT /_index_template/events');
    expect(recorder.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      ...ALL_REQUESTS.slice(0, template + 1),
      ...ALL_REQUESTS.slice(template),
    ]);
  });

  it('--no-sign --skip-security sends the pipelines, template and settings only, unsigned (the opensearch-it mode)', async () => {
    const r = await runScript(['--endpoint', `${recorder.url}/`, '--no-sign', '--skip-security']);
    expect(r.status, r.stderr).toBe(0);
    expect(recorder.requests.map((q) => `${q.method} ${q.path}`)).toEqual(ALL_REQUESTS.slice(0, N - 2));
    for (const q of recorder.requests) expect(q.headers.authorization).toBeUndefined();
  });

  it('refuses bad input before sending anything', async () => {
    const noRegion = await runScript(['--endpoint', recorder.url, '--role-arn', ROLE_ARN]);
    expect(noRegion.status).toBe(1);
    expect(noRegion.stderr).toContain('no region for SigV4');
    const badArn = await runScript(['--endpoint', recorder.url, '--role-arn', 'firehose-role', '--region', REGION]);
    expect(badArn.status).toBe(1);
    expect(badArn.stderr).toContain('is not an IAM role ARN');
    const nothing = await runScript([]);
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toContain('usage: opensearch-setup');
    expect(recorder.requests).toHaveLength(0);
  });
});

describe('the events-idempotent pipelines (components/firehose-opensearch/events-ingest-pipelines.json)', () => {
  it('are read in file order, a called pipeline before its caller', () => {
    expect(readPipelines(PIPELINES_TEXT).map((p) => p.name)).toEqual(PIPELINE_ORDER);
    // The dispatcher calls events-idempotent-<record_type>: one pipeline per record type of the contract.
    const dispatch = PIPELINES['events-idempotent']!.processors.find((p) => 'pipeline' in p)!.pipeline;
    expect(dispatch).toMatchObject({ name: 'events-idempotent-{{{record_type}}}' });
  });

  it('take _id from event_id / aggregate_id and a long external_gte _version from version', () => {
    const set = (name: string) =>
      Object.fromEntries(
        PIPELINES[name]!.processors.filter((p) => 'set' in p).map((p) => [p.set!.field, p.set!.value]),
      );
    expect(set('events-idempotent-event')).toEqual({ _id: '{{{event_id}}}' });
    expect(set('events-idempotent-aggregate')).toEqual({ _id: '{{{aggregate_id}}}', _version_type: 'external_gte' });
    // A {{template}} is a string, and _version must be a long: a convert, not a set.
    expect(
      PIPELINES['events-idempotent-aggregate']!.processors.find((p) => p.convert?.target_field === '_version')!.convert,
    ).toMatchObject({
      field: 'version',
      type: 'long',
    });
  });

  it('refuses a pipelines file that is not an object of named, non-empty pipelines', () => {
    expect(() => readPipelines('[', 'p.json')).toThrow(/p\.json is not valid JSON/);
    expect(() => readPipelines('[]', 'p.json')).toThrow(
      'p.json: must be an object of pipeline id -> pipeline definition',
    );
    expect(() => readPipelines('{"Bad Name":{"processors":[{}]}}', 'p.json')).toThrow(
      'p.json: pipeline id "Bad Name" must match',
    );
    expect(() => readPipelines('{"ok":{"processors":[]}}', 'p.json')).toThrow(
      'p.json: pipeline "ok" needs a non-empty "processors" list',
    );
  });
});

describe('opensearch-setup helpers', () => {
  it('takes the region from an OpenSearch Service endpoint unless --region is given', () => {
    const url = normalizeEndpoint('search-acme-ue1-dev-search-abc123xyz.us-east-1.es.amazonaws.com');
    expect(url.protocol).toBe('https:');
    expect(resolveRegion(undefined, url)).toBe('us-east-1');
    expect(resolveRegion('eu-west-1', url)).toBe('eu-west-1');
    expect(resolveRegion(undefined, normalizeEndpoint('vpc-acme-prd-search-abc.ap-southeast-2.es.amazonaws.com'))).toBe(
      'ap-southeast-2',
    );
  });

  it('finds the outputs JSON after init/workspace chatter on stdout', () => {
    const stdout = [
      '\u001b[0m\u001b[1mInitializing the backend...\u001b[0m',
      'OpenTofu has been successfully initialized!',
      'Switched to workspace "dev".',
      '{',
      '  "role_arn": {',
      '    "sensitive": false,',
      '    "type": "string",',
      `    "value": "${ROLE_ARN}"`,
      '  }',
      '}',
      '',
    ].join('\n');
    expect(trailingJson(stdout)).toEqual({ role_arn: { sensitive: false, type: 'string', value: ROLE_ARN } });
    expect(trailingJson('Initializing...\n{}\n')).toEqual({});
    expect(trailingJson('no json here\n')).toBeUndefined();
  });
});

describe('opensearch-setup --stack (outputs from atmos)', () => {
  let recorder: Recorder;
  let dir: string;
  beforeAll(async () => {
    recorder = await startRecorder();
    dir = mkdtempSync(join(tmpdir(), 'opensearch-setup-'));
  });
  afterEach(() => {
    recorder.requests.length = 0;
  });
  afterAll(async () => {
    await recorder.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fake atmos that logs its argv and prints init noise, then the given outputs JSON. */
  function fakeAtmos(outputs: Record<string, Record<string, unknown>>): { bin: string; log: string } {
    const bin = join(dir, `atmos-${Object.keys(outputs).join('-') || 'none'}.js`);
    const log = `${bin}.log`;
    writeFileSync(
      bin,
      `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + '\\n');
const outputs = ${JSON.stringify(outputs)};
process.stdout.write('\\nInitializing the backend...\\nOpenTofu has been successfully initialized!\\nSwitched to workspace "dev".\\n');
const values = outputs[args[2]] || {};
const doc = {};
for (const [k, v] of Object.entries(values)) doc[k] = { sensitive: false, type: 'string', value: v };
process.stdout.write(JSON.stringify(doc, null, 2) + '\\n');
`,
    );
    chmodSync(bin, 0o755);
    return { bin, log };
  }

  it('reads domain_endpoint and role_arn with `atmos terraform output <component> -s <stack> -- -json`', async () => {
    const { bin, log } = fakeAtmos({
      opensearch: { domain_endpoint: recorder.url },
      'firehose-opensearch': { role_arn: ROLE_ARN },
    });
    const r = await runScript(['--stack', 'dev', '--region', REGION], cleanEnv({ ATMOS_BIN: bin }));
    expect(r.status, r.stderr).toBe(0);
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    expect(calls).toEqual([
      ['terraform', 'output', 'opensearch', '-s', 'dev', '--', '-json'],
      ['terraform', 'output', 'firehose-opensearch', '-s', 'dev', '--', '-json'],
    ]);
    expect(recorder.requests.map((q) => `${q.method} ${q.path}`)).toEqual(ALL_REQUESTS);
    expect(recorder.requests[N - 1].body).toBe(JSON.stringify(expectedMapping(ROLE_ARN)));
  });

  it('fails, naming the component and output, when an output is missing (component not applied)', async () => {
    const { bin } = fakeAtmos({ opensearch: { domain_endpoint: recorder.url } });
    const r = await runScript(['--stack', 'dev', '--region', REGION], cleanEnv({ ATMOS_BIN: bin }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'atmos terraform output firehose-opensearch -s dev -- -json: no string output "role_arn"',
    );
    expect(recorder.requests).toHaveLength(0);
  });

  const haveTools = existsSync(join(TOOLS_BIN, 'atmos')) && existsSync(join(TOOLS_BIN, 'tofu'));
  it.runIf(haveTools)(
    'real Atmos: the deploy workflow step runs the custom command with -s <stack>, which reads real outputs',
    async () => {
      // A throw-away Atmos project: the repo's atmos.yaml (its `commands:`) and deploy workflow,
      // two stub components with only outputs, a local backend, and links to scripts/ and node_modules/.
      const sandbox = join(dir, 'project');
      mkdirSync(join(sandbox, 'stacks', 'deploy'), { recursive: true });
      mkdirSync(join(sandbox, 'stacks', 'workflows'), { recursive: true });
      copyFileSync(join(REPO_ROOT, 'atmos.yaml'), join(sandbox, 'atmos.yaml'));
      copyFileSync(
        join(REPO_ROOT, 'stacks', 'workflows', 'deploy.yaml'),
        join(sandbox, 'stacks', 'workflows', 'deploy.yaml'),
      );
      symlinkSync(join(REPO_ROOT, 'scripts'), join(sandbox, 'scripts'));
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(sandbox, 'node_modules'));
      const stub = (component: string, output: string, value: string) => {
        mkdirSync(join(sandbox, 'components', component), { recursive: true });
        writeFileSync(
          join(sandbox, 'components', component, 'main.tf.json'),
          JSON.stringify({ variable: { stage: { type: 'string' } }, output: { [output]: { value } } }),
        );
      };
      stub('opensearch', 'domain_endpoint', recorder.url);
      stub('firehose-opensearch', 'role_arn', ROLE_ARN);
      writeFileSync(
        join(sandbox, 'stacks', 'deploy', 'sandbox.yaml'),
        [
          'vars:',
          '  stage: sandbox',
          'terraform:',
          '  backend_type: local',
          '  backend:',
          '    local:',
          "      path: '../../.state/{{ .atmos_component }}/terraform.tfstate'",
          "      workspace_dir: '../../.state/{{ .atmos_component }}'",
          'components:',
          '  terraform:',
          '    opensearch: { vars: {} }',
          '    firehose-opensearch: { vars: {} }',
          '',
        ].join('\n'),
      );
      const env = cleanEnv({
        PATH: `${TOOLS_BIN}:${process.env.PATH}`,
        AWS_REGION: REGION,
        ...QUIET_ATMOS_ENV,
      });
      for (const component of ['opensearch', 'firehose-opensearch']) {
        const applied = await run('atmos', ['terraform', 'deploy', component, '-s', 'sandbox'], { cwd: sandbox, env });
        expect(applied.status, `${applied.stdout}\n${applied.stderr}`).toBe(0);
      }

      const r = await run(
        'atmos',
        ['workflow', 'deploy-all', '-f', 'deploy', '-s', 'sandbox', '--from-step', 'opensearch-setup'],
        { cwd: sandbox, env },
      );
      const output = `${r.stdout}\n${r.stderr}`;
      expect(r.status, output).toBe(0);
      expect(output).toContain('atmos terraform output opensearch -s sandbox -- -json');
      expect(output).toContain(`done (${N} of ${N} requests succeeded)`);
      expect(recorder.requests.map((q) => `${q.method} ${q.path}`)).toEqual(ALL_REQUESTS);
      expect(recorder.requests[N - 1].body).toBe(JSON.stringify(expectedMapping(ROLE_ARN)));
      expect(verifySigV4(recorder.requests[0], SECRET_KEY).region).toBe(REGION);

      // Without a stack the custom command refuses to run (the flag is required).
      const noStack = await run('atmos', ['opensearch-setup'], { cwd: sandbox, env });
      expect(noStack.status).not.toBe(0);
      expect(`${noStack.stdout}${noStack.stderr}`).toContain('required flag(s) "stack" not set');
    },
  );
});
