/**
 * Deletion protection for stateful stores, switched by a variable.
 *
 * Terraform's `lifecycle.prevent_destroy` must be a literal, so it cannot follow a per-stage
 * variable without synthesizing one JSON per stage (which the CDKTF⇄Atmos contract forbids).
 * Resources with a native switch (DynamoDB `deletion_protection_enabled`, OpenSearch via
 * this guard) use it; for the others this guard does the job:
 *
 * A `terraform_data` resource depends on the protected resource and is replaced whenever the
 * protected resource's identity changes. Terraform destroys dependents first, so on `destroy`
 * or on a replacement of the protected resource the guard is destroyed first, and its
 * destroy-time provisioner fails while `deletion_protection` is true: the protected resource is
 * never reached. Turning protection off is an in-place update of the guard's `input` (no
 * replacement), so the stored value is false by the time a later destroy runs.
 */
import { DataResource, type IResolvable } from 'cdktf';
import type { Construct } from 'constructs';

export interface DeletionGuardProps {
  /** The protected resource's identity (e.g. its ARN); a change means replacement. */
  readonly protectedId: string;
  /** Human description used in the error, e.g. "Kinesis stream acme-ue1-prod-ingest". */
  readonly what: string;
  /** Terraform bool expression, normally the `deletion_protection` variable's value. */
  readonly enabled: boolean | IResolvable;
  /** `count`, when the protected resource is optional. */
  readonly count?: number;
}

export function deletionGuard(scope: Construct, id: string, props: DeletionGuardProps): DataResource {
  return new DataResource(scope, id, {
    count: props.count,
    input: { protected: props.enabled, what: props.what },
    triggersReplace: { protected_id: props.protectedId },
    provisioners: [
      {
        type: 'local-exec',
        when: 'destroy',
        // Reads only `self`: destroy-time provisioners cannot see variables.
        command:
          'if [ "${self.input.protected}" = "true" ]; then ' +
          'echo "Refusing to destroy ${self.input.what}: deletion_protection is true. ' +
          'Set deletion_protection = false for this stack and apply first." >&2; exit 1; fi',
      },
    ],
  });
}
