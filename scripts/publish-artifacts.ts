/**
 * Puts the deployable artifacts next to the synthesized JSON that references them:
 *
 *   npx tsx scripts/publish-artifacts.ts lambda   bundle lambda-src → components/lambda-enrichment/dist/enrichment.zip
 *   npx tsx scripts/publish-artifacts.ts flink    flink/target/flink-aggregator.jar → components/kinesis-analytics/dist/
 *
 * Terraform hashes these files (filebase64sha256 / source_hash), so a changed artifact is a new
 * deployment and an unchanged one is no change. Synthesis itself never needs them.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '../components/synth';
import { buildLambda } from './build-lambda';

const root = findRepoRoot(__dirname);

function publish(from: string, component: string, name: string): void {
  if (!existsSync(from)) throw new Error(`${from} does not exist: build it first`);
  const dir = join(root, 'components', component, 'dist');
  mkdirSync(dir, { recursive: true });
  copyFileSync(from, join(dir, name));
  process.stdout.write(`published components/${component}/dist/${name}\n`);
}

async function main(targets: string[]): Promise<void> {
  for (const target of targets) {
    if (target === 'lambda') {
      const build = await buildLambda();
      publish(build.zip, 'lambda-enrichment', 'enrichment.zip');
    } else if (target === 'flink') {
      publish(join(root, 'flink', 'target', 'flink-aggregator.jar'), 'kinesis-analytics', 'flink-aggregator.jar');
    } else {
      throw new Error(`unknown artifact "${target}": expected lambda or flink`);
    }
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
