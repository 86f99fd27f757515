/**
 * The Flink job of the deployed application on a local MiniCluster (LocalFlinkRunner.java):
 * the shaded jar the workflow built and uploaded (flink/target/flink-aggregator.jar) plus Flink's
 * `provided` dependencies (`mvn dependency:build-classpath -Dmdep.includeScope=provided`, cached
 * under .tools/cache/pipeline-local keyed by the pom's hash), the runner compiled with javac
 * (cached by its source hash).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const REPO_ROOT = join(__dirname, '..', '..');
const CACHE = join(REPO_ROOT, '.tools', 'cache', 'pipeline-local');
export const FLINK_JAR = join(REPO_ROOT, 'flink', 'target', 'flink-aggregator.jar');
const RUNNER_SRC = join(__dirname, 'flink', 'LocalFlinkRunner.java');

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** Flink's provided dependencies (cached: resolving them costs ~10 s of Maven). */
export function providedClasspath(): string {
  const pom = readFileSync(join(REPO_ROOT, 'flink', 'pom.xml'));
  const file = join(CACHE, `flink-provided-${sha(pom)}.classpath`);
  if (!existsSync(file)) {
    mkdirSync(CACHE, { recursive: true });
    const r = spawnSync(
      'mvn',
      [
        '-B',
        '-q',
        '-ntp',
        '-f',
        join(REPO_ROOT, 'flink', 'pom.xml'),
        'dependency:build-classpath',
        `-Dmdep.outputFile=${file}`,
        '-Dmdep.includeScope=provided',
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (r.status !== 0) throw new Error(`mvn dependency:build-classpath failed:\n${r.stdout}\n${r.stderr}`);
  }
  return readFileSync(file, 'utf8').trim();
}

/** Compiles LocalFlinkRunner.java against the jar + provided classpath; returns the classes dir. */
export function compileRunner(cp: string): string {
  const src = readFileSync(RUNNER_SRC);
  const out = join(CACHE, `runner-${sha(Buffer.concat([src, Buffer.from(cp), Buffer.from('services-v1')]))}`);
  if (!existsSync(join(out, 'LocalFlinkRunner.class'))) {
    mkdirSync(out, { recursive: true });
    const r = spawnSync('javac', ['-nowarn', '-cp', cp, '-d', out, RUNNER_SRC], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`javac LocalFlinkRunner.java failed:\n${r.stdout}\n${r.stderr}`);
    // Flink finds reporter factories through the ServiceLoader only (then matches factory.class).
    const services = join(out, 'META-INF', 'services');
    mkdirSync(services, { recursive: true });
    writeFileSync(
      join(services, 'org.apache.flink.metrics.reporter.MetricReporterFactory'),
      'LocalFlinkRunner$ReporterFactory\n',
    );
  }
  return out;
}

export interface FlinkStatus {
  state: string;
  tasksRunning: number;
  tasks: number;
  completedCheckpoints: number;
  restoredCheckpoint: number;
  lateEvents: number;
  malformedEvents: number;
}

export interface FlinkStopped {
  savepoint: string;
  status: string;
  lateEvents: number;
  malformedEvents: number;
}

type Msg = { event: string } & Record<string, unknown>;

export class LocalFlink {
  private child: ChildProcess | undefined;
  private waiters: { event: string; resolve: (m: Msg) => void; reject: (e: Error) => void }[] = [];
  private output = '';
  finished: Msg | undefined;

  constructor(
    private readonly opts: {
      configFile: string;
      stateDir: string;
      checkpointSeconds: number;
      parallelism: number;
      env: NodeJS.ProcessEnv;
    },
  ) {}

  async start(): Promise<void> {
    if (!existsSync(FLINK_JAR)) throw new Error(`${FLINK_JAR} missing: run npm run build:flink`);
    const cp = `${FLINK_JAR}:${providedClasspath()}`;
    const classes = compileRunner(cp);
    mkdirSync(this.opts.stateDir, { recursive: true });
    this.child = spawn(
      'java',
      [
        '-Xmx1536m',
        '-XX:+UseSerialGC',
        '-cp',
        `${classes}:${cp}`,
        'LocalFlinkRunner',
        this.opts.configFile,
        this.opts.stateDir,
        String(this.opts.checkpointSeconds),
        String(this.opts.parallelism),
      ],
      { env: this.opts.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    // The whole console output also goes to <stateDir>/flink.log, so a run can be examined afterwards.
    const logFile = createWriteStream(join(this.opts.stateDir, 'flink.log'));
    this.child.once('exit', () => logFile.end());
    this.child.stdout!.on('data', (d: Buffer) => logFile.write(d));
    this.child.stderr!.on('data', (d: Buffer) => {
      logFile.write(d);
      this.output = (this.output + d.toString()).slice(-20_000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('@@ ')) {
        this.output = `${this.output + line}\n`.slice(-20_000);
        return;
      }
      const m = JSON.parse(line.slice(3)) as Msg;
      if (m.event === 'finished') this.finished = m;
      // A job that finishes on its own fails every wait, except a stop's (stop-with-savepoint
      // finishes the job before the runner answers "stopped").
      const i = this.waiters.findIndex(
        (w) => w.event === m.event || m.event === 'error' || (m.event === 'finished' && w.event !== 'stopped'),
      );
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        if (m.event === 'error') w!.reject(new Error(`flink runner: ${String(m.message)}`));
        else if (m.event === 'finished' && w!.event !== 'finished')
          w!.reject(
            new Error(
              `flink job finished (${String(m.status)}) while waiting for ${w!.event}:\n${String(m.cause ?? '')}`,
            ),
          );
        else w!.resolve(m);
      }
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiters.splice(0))
        w.reject(new Error(`flink runner exited (${code}):\n${this.output.slice(-4000)}`));
    });
    await this.wait('submitted', 180_000);
  }

  private wait(event: string, timeoutMs: number): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`flink runner: no "${event}" within ${timeoutMs} ms:\n${this.output.slice(-4000)}`)),
        timeoutMs,
      );
      this.waiters.push({
        event,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private command(cmd: string, event: string, timeoutMs: number): Promise<Msg> {
    const p = this.wait(event, timeoutMs);
    this.child!.stdin!.write(`${cmd}\n`);
    return p;
  }

  async status(): Promise<FlinkStatus> {
    return (await this.command('status', 'status', 60_000)) as unknown as FlinkStatus;
  }

  /** Until every task is RUNNING (the sources hold their shard iterators soon after). */
  async waitRunning(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (s.state === 'RUNNING' && s.tasks > 0 && s.tasksRunning === s.tasks) return;
      if (Date.now() > deadline)
        throw new Error(
          `flink job not running within ${timeoutMs} ms: ${JSON.stringify(s)}\n${this.output.slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async waitCheckpoint(after: number, timeoutMs = 120_000): Promise<FlinkStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (s.completedCheckpoints > after) return s;
      if (Date.now() > deadline) throw new Error(`no completed checkpoint after #${after} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async killTaskManager(): Promise<void> {
    await this.command('kill-tm', 'tm-killed', 120_000);
  }

  /** stop-with-savepoint --drain: every window fires (MAX_WATERMARK), then the job ends. */
  async stopWithDrain(): Promise<FlinkStopped> {
    return (await this.command('stop', 'stopped', 360_000)) as unknown as FlinkStopped;
  }

  log(): string {
    return this.output;
  }

  kill(): void {
    const c = this.child;
    if (c && c.exitCode === null && c.pid) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        c.kill('SIGKILL');
      }
    }
  }
}

export function writeFlinkConfig(file: string, propertyMap: Record<string, string>): void {
  writeFileSync(file, JSON.stringify({ pipeline: propertyMap }, null, 2));
}
