/**
 * The Markdown a reviewer reads: one table row per component (add / change / destroy / replace
 * and every flag), written to the terminal and to a file a CI job posts on the pull request.
 */
import type { ComponentSummary } from './analyze';

export interface ComponentResult {
  readonly component: string;
  readonly seconds: number;
  /** Set when the plan (or reading it) failed. */
  readonly error?: string;
  readonly summary?: ComponentSummary;
}

/** Exit codes of `atmos plan-summary` (also the CI contract, see the README's "Plan review"). */
export const EXIT = { clean: 0, usage: 1, flagged: 2, planError: 3 } as const;

export function exitCode(results: readonly ComponentResult[]): number {
  if (results.some((r) => r.error !== undefined)) return EXIT.planError;
  if (results.some((r) => (r.summary?.flags.length ?? 0) > 0)) return EXIT.flagged;
  return EXIT.clean;
}

/** Table cells must not break the row: pipes escaped, newlines as <br>. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

export function markdown(
  stack: string,
  results: readonly ComponentResult[],
  opts: { destroy: boolean; wallSeconds: number },
): string {
  const flagged = results.filter((r) => (r.summary?.flags.length ?? 0) > 0).length;
  const failed = results.filter((r) => r.error !== undefined).length;
  const verdict =
    failed > 0
      ? `**${failed} plan(s) failed**: the summary is incomplete.`
      : flagged > 0
        ? `**${flagged} component(s) flagged**: a stateful store is destroyed or replaced, or the deletion guard would refuse the apply.`
        : 'Nothing flagged.';
  const lines = [
    `### Plan summary: stack \`${stack}\`${opts.destroy ? ' (destroy)' : ''}`,
    '',
    verdict,
    '',
    '| Component | Add | Change | Destroy | Replace | Flags |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    if (r.error !== undefined) {
      lines.push(`| ${r.component} | – | – | – | – | ❌ plan failed: ${cell(r.error)} |`);
      continue;
    }
    const s = r.summary!;
    const flags = s.flags.map((f) => `${f.kind === 'refused' ? '⛔' : '⚠️'} ${f.text}`);
    const c = s.counts;
    const none = c.add + c.change + c.destroy + c.replace === 0;
    lines.push(
      `| ${r.component} | ${c.add} | ${c.change} | ${c.destroy} | ${c.replace} | ${cell(flags.length > 0 ? flags.join('\n') : none ? 'no changes' : '')} |`,
    );
  }
  lines.push(
    '',
    `⚠️ a stateful store is destroyed or replaced (data loss) · ⛔ the apply would be refused (deletion protection) · ` +
      `${results.length} component(s) planned in ${opts.wallSeconds.toFixed(0)} s.`,
  );
  return `${lines.join('\n')}\n`;
}
