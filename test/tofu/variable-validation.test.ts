/**
 * The real OpenTofu evaluator checks our variable `validation` blocks (and var-only resource
 * preconditions) against what Atmos would feed it — no AWS provider, no network, no state:
 *
 * - every deploy stack × component: the Atmos varfile passes `tofu plan` on a variables-only copy
 *   of the synthesized component with no changes and no warnings, and passes the var-only
 *   preconditions too;
 * - every invalid fixture (test/fixtures/invalid-stacks, `# check: component …`): which layer
 *   rejects it — `atmos validate component` (the component's generated OPA policy, the JSON
 *   Schema's rules with OpenTofu's messages, plus any hand-written cross-component policy such as
 *   the ingest retention setting), OpenTofu's variable types and validation, OpenTofu's resource
 *   preconditions — printed as a table. Each fixture must be rejected by Atmos
 *   or by variable validation, and its `# tofu:` header pins what
 *   OpenTofu does with it:
 *       # tofu: rejects same      plan fails with exactly the sentences `atmos validate` printed
 *                                 (one declaration, one message: the acceptance of issue 16)
 *       # tofu: rejects <regex>   plan fails; "summary: detail" of an error matches <regex>
 *       # tofu: warns <regex>     plan succeeds with a warning matching <regex>
 *       # tofu: accepts           variable validation lets it through (JSON Schema's job only)
 *   and an optional `# precondition: rejects <regex>` header pins a failing var-only precondition
 *   (without it, no precondition may fail);
 * - what OpenTofu 1.12 allows in a validation condition (cross-variable references).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import { atmos, atmosValidationMessages, DEPLOY_STACKS } from '../support/atmos';
import { atmosSandbox } from '../support/atmos-sandbox';
import { REPO_ROOT } from '../support/paths';
import { readComponent } from '../support/synth';
import {
  diagnosticText,
  generateVarfile,
  preconditionsConfig,
  type TofuPlanResult,
  type TofuWorkspace,
  tofuWorkspace,
  variablesOnlyConfig,
} from '../support/tofu';

const componentNames = Object.keys(COMPONENTS);
const scratch = mkdtempSync(join(tmpdir(), 'tofu-varfiles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** One variables-only and one preconditions workspace per component, initialised once. */
const workspaces = new Map<string, { variables: TofuWorkspace; preconditions: TofuWorkspace; skipped: string[] }>();
function workspacesOf(component: string) {
  let ws = workspaces.get(component);
  if (!ws) {
    const tf = readComponent(component);
    const pre = preconditionsConfig(tf);
    ws = {
      variables: tofuWorkspace(variablesOnlyConfig(tf)),
      preconditions: tofuWorkspace(pre.config),
      skipped: pre.skipped,
    };
    workspaces.set(component, ws);
  }
  return ws;
}
afterAll(() => {
  for (const ws of workspaces.values()) {
    ws.variables.dispose();
    ws.preconditions.dispose();
  }
});

const preconditionFailures = (r: TofuPlanResult) =>
  r.errors.filter((e) => e.summary === 'Resource precondition failed');

describe('deploy stacks pass OpenTofu variable validation and var-only preconditions', () => {
  describe.each(componentNames)('%s', (component) => {
    it('has every precondition evaluable from variables alone (else it is not checked here)', () => {
      expect(workspacesOf(component).skipped).toEqual([]);
    });

    it.each(DEPLOY_STACKS)('stack %s: tofu plan on the variables-only copy succeeds with no changes', async (stack) => {
      const varfile = join(scratch, `${stack}-${component}.tfvars.json`);
      await generateVarfile(component, stack, varfile);
      const ws = workspacesOf(component);

      const vars = ws.variables.plan(varfile);
      expect(vars.errors.map(diagnosticText), vars.output).toEqual([]);
      expect(vars.warnings.map(diagnosticText), 'warnings (e.g. undeclared variables)').toEqual([]);
      expect(vars.status).toBe(0);
      expect(vars.changes).toEqual({ add: 0, change: 0, remove: 0 });

      const pre = ws.preconditions.plan(varfile);
      expect(pre.errors.map(diagnosticText), pre.output).toEqual([]);
      expect(pre.status).toBe(0);
    });
  });
});

interface Row {
  fixture: string;
  schema: string;
  tofu: string;
  precondition: string;
  message: string;
}

describe('invalid stack fixtures: which layer rejects them', () => {
  const fixtureDir = join(REPO_ROOT, 'test', 'fixtures', 'invalid-stacks');
  const fixtures = readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((file) => {
      const content = readFileSync(join(fixtureDir, file), 'utf8');
      const header = (key: string) => content.match(new RegExp(`^# ${key}: (.*)$`, 'm'))?.[1]?.trim();
      return { file, content, header };
    })
    .filter((f) => /^component\s+\S+$/.test(f.header('check') ?? ''));
  const rows: Row[] = [];

  afterAll(() => {
    const cols: (keyof Row)[] = ['fixture', 'schema', 'tofu', 'precondition', 'message'];
    const heads = [
      'fixture',
      'atmos validate (OPA policies)',
      'tofu variable validation',
      'tofu precondition',
      'message',
    ];
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    const sorted = [...rows].sort((a, b) => a.fixture.localeCompare(b.fixture));
    console.log(
      [
        '',
        line(heads),
        line(heads.map(() => '---')),
        ...sorted.map((r) => line(cols.map((c) => r[c].replace(/\|/g, '\\|')))),
      ].join('\n'),
    );
  });

  it('has component fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(8));

  it.each(fixtures.map((f) => [f.file, f] as const))('%s', async (file, { content, header }) => {
    const component = header('check')!.split(/\s+/)[1]!;
    const stack = header('stack') ?? 'dev';
    const sandbox = atmosSandbox({ name: file, content });
    try {
      // Varfile generation does not apply settings.validation: it writes the bad value as is.
      const varfile = join(scratch, `fixture-${file}.tfvars.json`);
      await generateVarfile(component, stack, varfile, sandbox.dir);

      const validate = await atmos(['validate', 'component', component, '-s', stack], { cwd: sandbox.dir });
      const schemaRejects = validate.status !== 0;
      const schemaMessages = atmosValidationMessages(validate.stdout + validate.stderr);

      const ws = workspacesOf(component);
      const vars = ws.variables.plan(varfile);
      const pre = ws.preconditions.plan(varfile);
      const preFailures = preconditionFailures(pre);
      const otherPreErrors = pre.errors.length - preFailures.length;

      rows.push({
        fixture: file,
        schema: schemaRejects ? `rejects: ${schemaMessages.join('; ')}` : 'accepts',
        tofu: vars.status !== 0 ? 'rejects' : vars.warnings.length > 0 ? 'accepts, warns' : 'accepts',
        precondition:
          preFailures.length > 0
            ? `rejects: ${preFailures.map((d) => d.detail).join('; ')}`
            : otherPreErrors > 0
              ? 'not reached'
              : 'accepts',
        // Summary and the detail's first sentence (undeclared-variable warnings go on at length).
        message:
          [...vars.errors, ...vars.warnings]
            .map((d) =>
              diagnosticText(d)
                .replace(/(\.) [A-Z].*$/, '$1')
                .replace(varfile, '<varfile>'),
            )
            .join('; ') || '—',
      });

      expect(schemaRejects || vars.status !== 0, `${file} is accepted by both the JSON Schema and tofu`).toBe(true);

      const tofuHeader = header('tofu');
      expect(tofuHeader, `${file} needs a "# tofu: rejects <regex> | warns <regex> | accepts" header`).toMatch(
        /^(rejects|warns) \S|^accepts$/,
      );

      const [verdict, ...pattern] = tofuHeader!.split(' ');
      const regex = new RegExp(pattern.join(' '), 's');
      if (verdict === 'rejects' && pattern.join(' ') === 'same') {
        expect(vars.status, `tofu accepted ${file}:\n${vars.output}`).not.toBe(0);
        expect(vars.errors.map((d) => d.summary)).toEqual(vars.errors.map(() => 'Invalid value for variable'));
        expect(
          vars.errors.map((d) => d.detail.replace(/\s+/g, ' ').trim()).sort(),
          'tofu and atmos print the same sentences',
        ).toEqual([...schemaMessages].sort());
      } else if (verdict === 'rejects') {
        expect(vars.status, `tofu accepted ${file}:\n${vars.output}`).not.toBe(0);
        expect(vars.errors.map(diagnosticText).join('\n')).toMatch(regex);
      } else {
        expect(vars.errors.map(diagnosticText), `tofu now rejects ${file}: update its "# tofu:" header`).toEqual([]);
        expect(vars.status).toBe(0);
        expect(vars.changes).toEqual({ add: 0, change: 0, remove: 0 });
        if (verdict === 'warns') expect(vars.warnings.map(diagnosticText).join('\n')).toMatch(regex);
        else expect(vars.warnings.map(diagnosticText)).toEqual([]);
      }

      const preHeader = header('precondition');
      if (preHeader) {
        expect(preHeader).toMatch(/^rejects \S/);
        expect(preFailures.map(diagnosticText).join('\n'), pre.output).toMatch(
          new RegExp(preHeader.slice('rejects '.length), 's'),
        );
      } else {
        expect(
          preFailures.map(diagnosticText),
          `a precondition rejects ${file}: add a "# precondition:" header`,
        ).toEqual([]);
      }
    } finally {
      sandbox.dispose();
    }
  });
});

describe('OpenTofu 1.12 validation conditions', () => {
  /** The kinesis streams' shard_count/stream_mode precondition, written as a variable validation. */
  const crossVariable = {
    variable: {
      stream_mode: { type: 'string', default: 'ON_DEMAND' },
      shard_count: {
        type: 'number',
        default: null,
        nullable: true,
        validation: [
          {
            condition: '${var.stream_mode == "PROVISIONED" ? var.shard_count != null : var.shard_count == null}',
            error_message:
              'Invalid combination: shard_count must be set when stream_mode is PROVISIONED and null when it is ON_DEMAND.',
          },
        ],
      },
    },
  };
  let ws: TofuWorkspace;
  beforeAll(() => {
    ws = tofuWorkspace(crossVariable);
  });
  afterAll(() => ws.dispose());

  const plan = (workspace: TofuWorkspace, vars: object) => {
    const file = join(scratch, `cross-${Math.random().toString(36).slice(2)}.tfvars.json`);
    writeFileSync(file, JSON.stringify(vars));
    return workspace.plan(file);
  };

  it.each([
    [{}, true],
    [{ stream_mode: 'PROVISIONED', shard_count: 2 }, true],
    [{ stream_mode: 'ON_DEMAND', shard_count: 4 }, false],
    [{ stream_mode: 'PROVISIONED' }, false],
  ])('may reference another variable: %j → valid %s', (vars, valid) => {
    const r = plan(ws, vars);
    if (valid) {
      expect(r.errors.map(diagnosticText), r.output).toEqual([]);
      expect(r.status).toBe(0);
    } else {
      expect(r.status).not.toBe(0);
      expect(r.errors.map(diagnosticText)).toEqual([
        'Invalid value for variable: Invalid combination: shard_count must be set when stream_mode is PROVISIONED and null when it is ON_DEMAND.',
      ]);
    }
  });

  it('must still reference its own variable', () => {
    // Rejected when the configuration is loaded (already by `tofu init`), whatever the values.
    const config = {
      variable: {
        stream_mode: { type: 'string', default: 'ON_DEMAND' },
        shard_count: {
          type: 'number',
          default: null,
          validation: [{ condition: '${var.stream_mode == "ON_DEMAND"}', error_message: 'x.' }],
        },
      },
    };
    expect(() => tofuWorkspace(config).dispose()).toThrow(/must refer to var\.shard_count/);
  });

  it('cannot put the rule on both variables (a dependency cycle)', () => {
    const both = tofuWorkspace({
      variable: {
        stream_mode: {
          type: 'string',
          default: 'ON_DEMAND',
          validation: [
            { condition: '${var.stream_mode == "PROVISIONED" || var.shard_count == null}', error_message: 'x.' },
          ],
        },
        shard_count: {
          type: 'number',
          default: null,
          validation: [
            { condition: '${var.shard_count == null || var.stream_mode == "PROVISIONED"}', error_message: 'y.' },
          ],
        },
      },
    });
    try {
      const r = plan(both, {});
      expect(r.status).not.toBe(0);
      expect(r.errors.map(diagnosticText).join('\n')).toMatch(/Cycle: .*var\.(stream_mode|shard_count)/);
    } finally {
      both.dispose();
    }
  });
});
