/**
 * What other parts of the project rely on about lambda-enrichment, declared once and kept free of
 * CDKTF imports so that scripts (scripts/replay-failures.ts) and the monitoring component can use
 * it cheaply: resource name suffixes, the handler's metrics, the record-age margin.
 */
import { ENV, LIMITS, LOG_LEVELS, PATTERNS } from '../../lambda-src/src/config';

/** The bundle `npm run build:lambda` writes next to main.tf.json. */
export const LAMBDA_ARTIFACT = 'dist/enrichment.zip';

/** `<label>-dlq`: malformed records, written by the handler. */
export const DLQ_SUFFIX = 'dlq';
/** `<label>-failures`: the event source mapping's on-failure destination (batches it gave up on). */
export const FAILURES_QUEUE_SUFFIX = 'failures';

/**
 * The handler's own metrics (lambda-src, Powertools Metrics in EMF): the namespace is what the
 * component sets in POWERTOOLS_METRICS_NAMESPACE, and Powertools adds one dimension, `service`,
 * whose value is POWERTOOLS_SERVICE_NAME (the function name). FailedRecords counts the records an
 * invocation reports in batchItemFailures; it is the only view of partial batch failures, which
 * never count as Lambda `Errors`.
 */
export const ENRICHMENT_METRICS = {
  namespace: 'StreamingPipeline/Enrichment',
  serviceDimension: 'service',
  failedRecords: 'FailedRecords',
} as const;

/**
 * How much of the ingest stream's retention must be left when the mapping gives up on a record
 * (maximum_record_age_seconds): 6 hours. The on-failure message only names the records, so a
 * replay (scripts/replay-failures.ts) must read them from the stream before they are trimmed.
 * In the worst case the mapping gives up at exactly maximum_record_age_seconds, so this margin is
 * the time to see the `-failures-messages` alarm, end the outage and run the replay: a working
 * on-call window rather than the bare minimum of one hour (the alarm alone takes minutes, and a
 * replay of a long outage reads many records). With the default 24 h retention it still allows
 * up to 18 h of automatic retries. The rule's one declaration (crossVariableRule in index.ts)
 * puts it in the OpenTofu validation and the generated stacks/schemas/opa/lambda-enrichment.variables.rego.
 */
export const REPLAY_MARGIN_SECONDS = 6 * 3600;

/**
 * CACHE_MAX_BYTES, the byte bound of the handler's profile cache: the handler's own limits
 * (lambda-src/src/config.ts), so the Terraform variable cannot disagree with what the function
 * accepts. 64 MiB by default: a quarter of the default 256 MB function.
 */
export const CACHE_MAX_BYTES = LIMITS.cacheMaxBytes;

/**
 * The handler's environment contract, declared once in lambda-src/src/config.ts: the variable
 * names the component sets, the ranges and defaults of its numeric settings, the patterns of its
 * string settings and its log levels. The component's variables take their bounds from here.
 */
export const HANDLER = { env: ENV, limits: LIMITS, patterns: PATTERNS, logLevels: LOG_LEVELS } as const;
