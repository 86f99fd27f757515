/**
 * A real single-node OpenSearch 2.19.6 on 127.0.0.1 for a Node process: the node opensearch-it's
 * JUnit test boots (EmbeddedOpenSearchNode: the server's own `Node` class with the Netty 4 HTTP
 * module, ingest-common and lang-mustache from Maven Central), run as its own JVM through
 * opensearch-it's OpenSearchServerMain.
 *
 *   const os = await startOpenSearchNode();      // { endpoint: 'http://127.0.0.1:<port>', stop() }
 *   … await os.stop();
 *
 * The classpath is built once with Maven (`test-compile` + `dependency:build-classpath`) and
 * cached under opensearch-it/.server-cache/<hash>/ (git-ignored), keyed by a hash of
 * opensearch-it/pom.xml and every file under opensearch-it/src, so a change there rebuilds it.
 * The node runs in its own process group; stop() (and the parent's exit, and the parent's death:
 * the node exits when its stdin closes) ends it. Nothing is installed into the node: callers run
 * `npx tsx scripts/opensearch-setup.ts --endpoint <url> --no-sign --skip-security` for the events
 * template and ingest pipelines.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  closeSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const REPO_ROOT = join(__dirname, '..');
const MODULE_DIR = join(REPO_ROOT, 'opensearch-it');
const CACHE_DIR = join(MODULE_DIR, '.server-cache');
const MAIN_CLASS = 'com.acme.pipeline.opensearch.OpenSearchServerMain';

export interface OpenSearchNodeOptions {
  /** HTTP port on 127.0.0.1; default 0 = a free port. */
  readonly port?: number;
  /** JVM heap, e.g. '1g' (default '1g': 2 shared cores, several JVMs on the machine). */
  readonly heap?: string;
  /** Give up when the node is not healthy (yellow or green) within this time, ms; default 120000. */
  readonly startTimeoutMs?: number;
  /** Progress lines (classpath build, start). */
  readonly log?: (line: string) => void;
}

export interface OpenSearchNode {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly pid: number;
  /** Time from spawning the JVM to cluster health yellow/green, ms (classpath build excluded). */
  readonly startMs: number;
  /** The node's stdout/stderr. */
  readonly logFile: string;
  /** Stops the node (SIGTERM to its process group, SIGKILL after 30 s); idempotent. */
  stop(): Promise<void>;
}

/** Hash of what the classpath depends on: the pom and every source/resource file. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const files: string[] = [join(MODULE_DIR, 'pom.xml')];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(MODULE_DIR, 'src'));
  for (const f of files) {
    hash.update(relative(MODULE_DIR, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The classpath (compiled test classes first, then every test-scope dependency jar), built once
 * per source hash. Concurrent callers build in separate temp folders; the first rename wins.
 */
export function openSearchClasspath(log: (line: string) => void = () => {}): string {
  const hash = sourceHash();
  const dir = join(CACHE_DIR, hash);
  const cpFile = join(dir, 'classpath.txt');
  if (!existsSync(cpFile)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = mkdtempSync(join(CACHE_DIR, `${hash}.tmp-`));
    log(
      `opensearch-node: building the classpath (mvn test-compile dependency:build-classpath) into ${relative(REPO_ROOT, dir)}`,
    );
    const mvn = spawnSync(
      'mvn',
      [
        '-B',
        '-q',
        '-ntp',
        '-f',
        join(MODULE_DIR, 'pom.xml'),
        'test-compile',
        'dependency:build-classpath',
        `-Dmdep.outputFile=${join(tmp, 'deps.txt')}`,
        '-Dmdep.includeScope=test',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (mvn.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(
        `opensearch-node: mvn failed (exit ${mvn.status ?? mvn.signal}):\n${(mvn.stdout + mvn.stderr).slice(-4000)}`,
      );
    }
    // A copy of the classes: a later `mvn test` or `mvn clean` in opensearch-it must not change
    // or remove what a running node loads.
    cpSync(join(MODULE_DIR, 'target', 'test-classes'), join(tmp, 'classes'), { recursive: true });
    const deps = readFileSync(join(tmp, 'deps.txt'), 'utf8').trim();
    writeFileSync(join(tmp, 'classpath.txt'), [join(dir, 'classes'), deps].join(':'));
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(cpFile)) throw e;
      rmSync(tmp, { recursive: true, force: true }); // another process finished first
    }
  }
  return readFileSync(cpFile, 'utf8');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, chars = 3000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/** Starts the node and resolves once `_cluster/health` is yellow or green. */
export async function startOpenSearchNode(opts: OpenSearchNodeOptions = {}): Promise<OpenSearchNode> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`port must be an integer 0-65535, got ${port}`);
  const heap = opts.heap ?? '1g';
  if (!/^\d+[mg]$/.test(heap)) throw new Error(`heap must look like 512m or 1g, got "${heap}"`);
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const log = opts.log ?? (() => {});
  const classpath = openSearchClasspath(log);

  const work = mkdtempSync(join(tmpdir(), 'opensearch-node-'));
  const portFile = join(work, 'http.port');
  const logFile = join(work, 'node.log');
  const out = openSync(logFile, 'a');
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const started = Date.now();
  const child = spawn(
    java,
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-Dfile.encoding=UTF-8',
      '-cp',
      classpath,
      MAIN_CLASS,
      '--port',
      String(port),
      '--port-file',
      portFile,
      '--home',
      join(work, 'home'),
    ],
    { detached: true, stdio: ['pipe', out, out] },
  );
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`opensearch-node: could not start ${java}`);
  // Do not keep the caller's event loop alive for the node; stop() or the exit hook ends it.
  child.unref();
  (child.stdin as unknown as Socket).unref();

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const onParentExit = () => killGroup('SIGKILL');
  process.once('exit', onParentExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', onParentExit);
      if (!exited) {
        child.stdin?.end();
        killGroup('SIGTERM');
        const killer = setTimeout(() => killGroup('SIGKILL'), 30_000);
        await exitedPromise;
        clearTimeout(killer);
      }
      rmSync(work, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const deadline = started + timeoutMs;
    let endpoint: string | undefined;
    for (;;) {
      if (exited)
        throw new Error(
          `opensearch-node: the JVM exited before it was healthy (exit ${child.exitCode}). Log:\n${tail(logFile)}`,
        );
      if (Date.now() > deadline)
        throw new Error(`opensearch-node: not healthy within ${timeoutMs} ms. Log:\n${tail(logFile)}`);
      if (!endpoint && existsSync(portFile)) endpoint = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
      if (endpoint) {
        try {
          const res = await fetch(`${endpoint}/_cluster/health?wait_for_status=yellow&timeout=5s`);
          const body = (await res.json()) as { status?: string };
          if (res.ok && (body.status === 'yellow' || body.status === 'green')) {
            const startMs = Date.now() - started;
            log(`opensearch-node: ${endpoint} healthy (${body.status}) in ${startMs} ms, pid ${pid}`);
            return { endpoint, pid, startMs, logFile, stop };
          }
        } catch {
          // HTTP bound but not answering yet
        }
      }
      await sleep(200);
    }
  } catch (e) {
    await stop();
    throw e;
  }
}
