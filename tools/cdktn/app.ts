/**
 * The app both framework bundles of tools/cdktn/synth.mjs run: the library's synthesizeAll (the
 * function main.ts runs), with the output folders taken from the environment so a comparison can
 * synthesize into a scratch folder instead of the repository's components/ and stacks/schemas/.
 *
 *   SYNTH_COMPONENTS_DIR  where components/<component>/main.tf.json go (default: components/)
 *   SYNTH_SCHEMAS_DIR     where the JSON Schemas go (default: stacks/schemas/jsonschema/)
 *   SYNTH_POLICIES_DIR    where the generated OPA policies go (default: stacks/schemas/opa/)
 *   CDKTF_OUTDIR          the framework's own output folder (default: cdktf.out/)
 *
 * Arguments name the components to synthesize (default: all).
 */
import { relative } from 'node:path';
import { synthesizeAll } from '../../components/synth';

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const results = synthesizeAll({
  only: only.length > 0 ? only : undefined,
  componentsDir: process.env.SYNTH_COMPONENTS_DIR || undefined,
  schemasDir: process.env.SYNTH_SCHEMAS_DIR || undefined,
  policiesDir: process.env.SYNTH_POLICIES_DIR || undefined,
});
for (const r of results) {
  process.stdout.write(`${r.changed ? 'wrote    ' : 'unchanged'} ${relative(process.cwd(), r.path)}\n`);
}
