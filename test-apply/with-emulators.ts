/**
 * Runs one command with the apply tier's emulators (./emulators.ts) up, and stops them after it,
 * on failure and on Ctrl-C too:
 *
 *   npx tsx test-apply/with-emulators.ts -- .tools/bin/atmos workflow deploy-all -f deploy -s local
 *   npx tsx test-apply/with-emulators.ts            (no command: prints the variables, waits for Ctrl-C)
 *
 * The command gets {@link Emulators.env} (LOCAL_*_ENDPOINT_URL, TF_AWS_EMULATOR_WAITS) in its
 * environment and the repository root as working directory; its exit code is this script's.
 */
import { spawn } from 'node:child_process';

import { startEmulators } from './emulators';
import { REPO_ROOT } from '../test/support/moto-server';

async function main(): Promise<number> {
  const dash = process.argv.indexOf('--');
  const command = dash >= 0 ? process.argv.slice(dash + 1) : [];
  const emulators = await startEmulators();
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= emulators.stopAll());
  for (const e of [emulators.moto, emulators.kinesis, emulators.cloudwatch]) {
    console.error(`[with-emulators] ${e.name} (${e.version}) on ${e.endpoint}, up in ${e.startSeconds.toFixed(1)} s`);
  }
  for (const [k, v] of Object.entries(emulators.env)) console.log(`export ${k}=${v}`);
  if (command.length === 0) {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await stop();
    return 0;
  }
  const started = Date.now();
  const child = spawn(command[0], command.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...emulators.env },
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  const code = await new Promise<number>((resolve) => {
    child.on('error', (err) => {
      console.error(`[with-emulators] ${command[0]}: ${err.message}`);
      resolve(127);
    });
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  console.error(
    `[with-emulators] ${command.join(' ')}: exit ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  await stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[with-emulators] ${(err as Error).message ?? err}`);
    process.exit(1);
  },
);
