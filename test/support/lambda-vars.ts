/** The smallest set of lambda-enrichment variables a dev stack sets, for evaluating its expressions. */
import type { Value } from './terraform-expr';

/** The required variables, with a dev stack's names, in `region`. */
export function lambdaEnrichmentVars(region = 'us-east-1'): Record<string, Value> {
  return {
    region,
    namespace: 'acme',
    environment: 'ue1',
    stage: 'dev',
    source_stream_name: 'acme-ue1-dev-ingest',
    destination_stream_name: 'acme-ue1-dev-output',
    lookup_table_name: 'acme-ue1-dev-lookup',
  };
}
