/**
 * Runs the deployed enrichment bundle as Lambda runs it: each concurrent invocation in an
 * execution environment of its own (a forked node process, lambda-worker.cjs, that loads index.js
 * once), one invocation at a time per environment, environments reused while warm. A crashed
 * environment (process exit) is a function error for the invocation and is replaced by a fresh
 * one (cold start) for the next, as Lambda replaces a failed environment.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Context, KinesisStreamEvent } from 'aws-lambda';

export interface LambdaHostOptions {
  /** Folder holding the unpacked deployment package (index.js, dax.js). */
  readonly codeDir: string;
  /** The function's environment (from GetFunctionConfiguration) plus endpoints/credentials. */
  readonly env: NodeJS.ProcessEnv;
  readonly functionName: string;
  readonly timeoutMs: number;
  /** Log sink for the functions' stdout/stderr (structured logs, EMF); default: dropped. */
  readonly log?: (line: string) => void;
}

interface Reply {
  id: number;
  ok: boolean;
  response?: unknown;
  error?: string;
}

class Environment {
  readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void }>();
  readonly ready: Promise<void>;
  exited = false;

  constructor(opts: LambdaHostOptions) {
    this.child = fork(join(__dirname, 'lambda-worker.cjs'), [opts.codeDir], {
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    const log = opts.log;
    const pipe = (s: NodeJS.ReadableStream | null) => s?.on('data', (d: Buffer) => log?.(d.toString()));
    pipe(this.child.stdout);
    pipe(this.child.stderr);
    this.ready = new Promise((resolve, reject) => {
      this.pending.set(0, { resolve: (r) => (r.ok ? resolve() : reject(new Error(r.error))) });
    });
    this.child.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      for (const [id, p] of this.pending)
        p.resolve({ id, ok: false, error: `Runtime exited with error: ${signal ?? `exit status ${code}`}` });
      this.pending.clear();
    });
  }

  invoke(id: number, payload: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.child.send({ id, ...payload });
    });
  }

  stop(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

export class LambdaHost {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private nextId = 1;
  invocations = 0;
  functionErrors = 0;
  coldStarts = 0;
  /** Fault injection: the next N invocations crash after this many PutRecords calls. */
  private crashPlan: { remaining: number; afterPutRecords: number } | undefined;

  constructor(private readonly opts: LambdaHostOptions) {}

  crashNext(invocations: number, afterPutRecords: number): void {
    this.crashPlan = { remaining: invocations, afterPutRecords };
  }

  /** The function as the event source mapping calls it (reject = function error). */
  readonly fn = async (event: KinesisStreamEvent, _context: Context): Promise<unknown> => {
    let env = this.idle.pop();
    while (env?.exited) env = this.idle.pop();
    if (!env) {
      env = new Environment(this.opts);
      this.all.add(env);
      this.coldStarts++;
      await env.ready;
    }
    this.invocations++;
    let crashAfterPutRecords = 0;
    if (this.crashPlan && this.crashPlan.remaining > 0) {
      this.crashPlan.remaining--;
      crashAfterPutRecords = this.crashPlan.afterPutRecords;
    }
    const id = this.nextId++;
    const timer = new Promise<Reply>((resolve) =>
      setTimeout(
        () =>
          resolve({ id, ok: false, error: `Task timed out after ${(this.opts.timeoutMs / 1000).toFixed(2)} seconds` }),
        this.opts.timeoutMs,
      ).unref(),
    );
    const reply = await Promise.race([
      env.invoke(id, {
        event,
        deadlineMs: Date.now() + this.opts.timeoutMs,
        crashAfterPutRecords,
        functionName: this.opts.functionName,
      }),
      timer,
    ]);
    if (!reply.ok) {
      this.functionErrors++;
      // Lambda discards an environment whose invocation failed with a runtime exit or timeout.
      env.stop();
      this.all.delete(env);
      throw new Error(reply.error);
    }
    this.idle.push(env);
    return reply.response;
  };

  stop(): void {
    for (const e of this.all) e.stop();
    this.all.clear();
    this.idle.length = 0;
  }
}
