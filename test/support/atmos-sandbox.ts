/**
 * A throw-away Atmos project in a temp folder: the repo's atmos.yaml, catalog and mixins, plus
 * one stack file under test. Components are the repo's own (by absolute path, which is fine in a
 * temp folder that is never committed).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

export interface AtmosSandbox {
  readonly dir: string;
  dispose(): void;
}

export function atmosSandbox(stackFile: { name: string; content: string }): AtmosSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'atmos-sandbox-'));
  const config = readFileSync(join(REPO_ROOT, 'atmos.yaml'), 'utf8').replace(
    'base_path: "components"',
    `base_path: "${join(REPO_ROOT, 'components')}"`,
  );
  writeFileSync(join(dir, 'atmos.yaml'), config);
  // Atmos joins the schema path onto its base path, so the schemas are copied too.
  for (const sub of ['catalog', 'mixins', 'workflows', 'schemas']) {
    cpSync(join(REPO_ROOT, 'stacks', sub), join(dir, 'stacks', sub), { recursive: true });
  }
  mkdirSync(join(dir, 'stacks', 'deploy'), { recursive: true });
  writeFileSync(join(dir, 'stacks', 'deploy', stackFile.name), stackFile.content);
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
