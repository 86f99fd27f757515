/**
 * How the project's scripts and tests run Atmos and OpenTofu: one quiet environment for each and one
 * spelling of `atmos describe stacks`, so a flag added or an output change is made in one place.
 */

/**
 * Environment for every Atmos run: no telemetry or version check (both would call the internet,
 * which CI does not have), no colour (the output is parsed and logged).
 */
export const QUIET_ATMOS_ENV = {
  ATMOS_TELEMETRY_ENABLED: 'false',
  ATMOS_VERSION_CHECK_ENABLED: 'false',
  NO_COLOR: '1',
} as const;

/**
 * Environment for every OpenTofu run, direct or through Atmos: no version check (a call to the
 * internet), automation output, and never a prompt (a missing input is an error, not a hang).
 */
export const QUIET_TOFU_ENV = {
  CHECKPOINT_DISABLE: '1',
  TF_IN_AUTOMATION: '1',
  TF_INPUT: '0',
} as const;

/** This process's environment with {@link QUIET_ATMOS_ENV} and then `extra` on top. */
export function atmosEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...QUIET_ATMOS_ENV, ...extra };
}

/** Which stacks, and which sections of their components, `atmos describe stacks` returns. */
export interface DescribeStacksOptions {
  /** Sections of each component to return (`--sections`), e.g. `['vars']` or `['settings', 'metadata']`. */
  readonly sections: readonly string[];
  /** Only this stack (`--stack`). Default: every stack. */
  readonly stack?: string;
}

/**
 * Arguments of `atmos describe stacks` as JSON with Go templates and YAML functions evaluated
 * (Atmos' defaults, written out so the output does not change with a future default). Its output
 * is `{ <stack>: { components: { terraform: { <component>: { <section>: … } } } } }`.
 */
export function describeStacksArgs(options: DescribeStacksOptions): string[] {
  if (options.sections.length === 0) throw new Error('describeStacksArgs: sections must name at least one section');
  return [
    'describe',
    'stacks',
    ...(options.stack === undefined ? [] : ['--stack', options.stack]),
    '--format',
    'json',
    '--process-templates=true',
    '--process-functions=true',
    '--sections',
    options.sections.join(','),
  ];
}
