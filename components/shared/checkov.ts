/**
 * checkov skip annotations that live next to the resource they concern.
 *
 *   skipCheck(bucket, 'CKV_AWS_144', 'archive of a re-playable stream: replication is not worth its cost');
 *
 * synthesizes, inside that resource's `"//"` comment key of the Terraform JSON:
 *
 *   "//": { "metadata": {...}, "checkov": { "skip": [ { "id": "CKV_AWS_144", "comment": "..." } ] } }
 *
 * (the shape checkov uses for CloudFormation `Metadata.checkov.skip`, and the one proposed for
 * CDKTF in bridgecrewio/checkov#4634). Terraform ignores `"//"` keys.
 *
 * checkov 3.3.30 does not read skip annotations in `--framework terraform_json` (its runner
 * scans every entity with an empty skip list), so test/security/checkov.test.ts applies these
 * annotations itself: a failed check counts as skipped only when the failing resource carries
 * an annotation with that check id, and an annotation for a check that does not fail there is
 * reported as stale. There is no global skip list.
 *
 * Some checks fail only on what would really be applied: in the synthesized JSON the value is a
 * `${var…}` string checkov passes, while the plan of a stack (test-apply/checkov-plans.test.ts)
 * has that stack's value. Such a skip carries `{ planOnly: true }` (synthesized as
 * `"plan_only": true`): the scan of the synthesized JSON does not call it stale, and refuses it if
 * the check does fail there (then it is not plan-only); the plan scan refuses it unless the check
 * fails in at least one deploy stack's plan. So a skip is stale exactly when its check fails in
 * neither scan, and each scan checks the half it can see.
 */
import { TerraformDataSource, type TerraformElement } from 'cdktf';

/** One annotation: the check id and why the check does not apply (or is accepted) here. */
export interface CheckovSkip {
  readonly id: string;
  readonly comment: string;
  /** The check fails only in the stacks' plans, not in the synthesized JSON (see above). */
  readonly plan_only?: true;
}

/** Options of {@link skipCheck}. */
export interface SkipCheckOptions {
  /** The check fails only in the plans (the synthesized JSON holds a `${var…}`). Default false. */
  readonly planOnly?: boolean;
}

/** `CKV_AWS_123`, `CKV2_AWS_5`, ...: checkov's own check ids (no BC_* platform ids). */
const CHECK_ID = /^CKV2?_[A-Z0-9]+_[0-9]+$/;

/** Where the annotations land: `"//".checkov.skip` of the resource. */
export const CHECKOV_SKIP_PATH = '//.checkov.skip';

const skipsOf = new WeakMap<TerraformElement, CheckovSkip[]>();

/**
 * Marks one checkov check as not applicable to `element` (a resource or data source), with the
 * reason. Call once per check id; several calls on one element accumulate.
 */
export function skipCheck(
  element: TerraformElement,
  checkId: string,
  reason: string,
  options: SkipCheckOptions = {},
): void {
  if (!CHECK_ID.test(checkId)) throw new Error(`skipCheck: "${checkId}" is not a checkov check id (CKV_..., CKV2_...)`);
  const comment = reason.trim();
  if (comment.length < 10) throw new Error(`skipCheck(${checkId}): give a concrete reason, not "${reason}"`);
  const skips = skipsOf.get(element) ?? [];
  if (skips.some((s) => s.id === checkId)) throw new Error(`skipCheck: ${checkId} is already skipped on this element`);
  skips.push({ id: checkId, comment, ...(options.planOnly === true ? { plan_only: true as const } : {}) });
  skipsOf.set(element, skips);
  if (element instanceof TerraformDataSource) {
    // A data source writes its "//" key from constructNodeMetadata *after* applying overrides
    // (resources merge the two), so the annotation joins that metadata instead.
    if (skips.length === 1) {
      const prototype = Object.getPrototypeOf(element) as object;
      Object.defineProperty(element, 'constructNodeMetadata', {
        get: () => ({
          ...(Reflect.get(prototype, 'constructNodeMetadata', element) as object),
          checkov: { skip: (skipsOf.get(element) ?? []).map((s) => ({ ...s })) },
        }),
      });
    }
    return;
  }
  // addOverride replaces the value at a path, so the whole list is written each time.
  element.addOverride(
    CHECKOV_SKIP_PATH,
    skips.map((s) => ({ ...s })),
  );
}

/** The annotations set on `element` so far (for tests). */
export function skippedChecks(element: TerraformElement): readonly CheckovSkip[] {
  return skipsOf.get(element) ?? [];
}
