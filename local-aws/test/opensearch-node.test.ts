/**
 * local-aws/opensearch-node.ts: the real node starts healthy on 127.0.0.1, stop() ends its
 * process, and the node does not outlive a parent that is killed (SIGKILL: no exit hook runs,
 * only the closed stdin pipe tells the node).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/paths';
import { startOpenSearchNode } from '../opensearch-node';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return !alive(pid);
}

describe('local OpenSearch node', () => {
  it('starts on 127.0.0.1, answers as OpenSearch 2.19.6, and stop() ends the JVM', async () => {
    const node = await startOpenSearchNode();
    expect(node.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const info = (await (await fetch(node.endpoint)).json()) as { version: { number: string } };
    expect(info.version.number).toBe('2.19.6');
    const health = (await (await fetch(`${node.endpoint}/_cluster/health`)).json()) as {
      status: string;
      number_of_nodes: number;
    };
    expect(['green', 'yellow']).toContain(health.status);
    expect(health.number_of_nodes).toBe(1);
    expect(alive(node.pid)).toBe(true);
    await node.stop();
    expect(await waitGone(node.pid, 5000)).toBe(true);
    await expect(fetch(node.endpoint)).rejects.toThrow();
    await node.stop(); // idempotent
  }, 180_000);

  it('a parent killed with SIGKILL takes the node with it (stdin closes)', async () => {
    const script = `
      const { startOpenSearchNode } = require(${JSON.stringify(join(REPO_ROOT, 'local-aws', 'opensearch-node.ts'))});
      startOpenSearchNode().then((n) => { console.log('PID=' + n.pid + ' ' + n.endpoint); setInterval(() => {}, 1000); });
    `;
    // one process (node with tsx's loader), so SIGKILL reaches the one that spawned the JVM
    const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      parent.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /PID=\d+ \S+/.exec(out);
        if (m) resolve(m[0]);
      });
      parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before the node started: ${out}`)));
    });
    const [, pid, endpoint] = /^PID=(\d+) (\S+)$/.exec(line)!;
    expect((await fetch(endpoint!)).ok).toBe(true);
    parent.kill('SIGKILL'); // no exit hook runs
    expect(await waitGone(Number(pid), 60_000)).toBe(true);
  }, 180_000);
});
