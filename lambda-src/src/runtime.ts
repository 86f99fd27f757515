import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ENV, loadConfig, type EnrichmentConfig } from './config';
import { dynamoDbBackend, type LookupBackend } from './dynamodb-backend';
import { createProcessor, type Processor, type ProcessorDeps } from './processor';
import { SDK_MAX_ATTEMPTS } from './retry';

export interface HandlerOptions {
  /** Environment to read the contract from (default process.env). */
  readonly env?: Record<string, string | undefined>;
  /** Ready-made clients (tests wrap real clients to inject faults); default: created lazily. */
  readonly dynamodb?: DynamoDBClient;
  readonly kinesis?: KinesisClient;
  readonly sqs?: SQSClient;
  readonly retry?: ProcessorDeps['retry'];
  readonly timing?: ProcessorDeps['timing'];
  readonly now?: ProcessorDeps['now'];
}

export interface EnrichmentHandler extends Processor {
  readonly config: EnrichmentConfig;
}

/**
 * HTTP/1.1 keep-alive handler with connection and request timeouts (ms) for every client. The
 * Kinesis client would otherwise default to HTTP/2 with one isolated session per request (a new
 * connection for every PutRecords), and HTTP/2 also fails against plain-HTTP local endpoints.
 */
const requestHandler = () => new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000 });

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * Builds a handler: validates the environment now (a bad value throws a ConfigError naming it),
 * creates the AWS clients on first use. Region, credentials and AWS_ENDPOINT_URL come from the
 * standard SDK environment.
 */
export function createHandler(options: HandlerOptions = {}): EnrichmentHandler {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  // Powertools reads the same variables from process.env; passing them keeps `env` authoritative.
  const logLevel = (env[ENV.logLevel]?.trim().toUpperCase() || undefined) as LogLevel | undefined;
  const logger = new Logger({ serviceName: env[ENV.serviceName], logLevel });
  // Without POWERTOOLS_METRICS_NAMESPACE Powertools uses its default namespace and warns once.
  const metrics = new Metrics({
    serviceName: env[ENV.serviceName],
    namespace: env[ENV.metricsNamespace],
  });

  const kinesis = options.kinesis
    ? () => options.kinesis!
    : lazy(() => new KinesisClient({ maxAttempts: SDK_MAX_ATTEMPTS, requestHandler: requestHandler() }));
  const sqs = options.sqs
    ? () => options.sqs!
    : lazy(() => new SQSClient({ maxAttempts: SDK_MAX_ATTEMPTS, requestHandler: requestHandler() }));

  let backend: LookupBackend;
  if (config.daxEndpoint === undefined) {
    const dynamodb = options.dynamodb
      ? () => options.dynamodb!
      : lazy(() => new DynamoDBClient({ maxAttempts: SDK_MAX_ATTEMPTS, requestHandler: requestHandler() }));
    const real = lazy(() => dynamoDbBackend(dynamodb(), config.lookupTableName));
    backend = { kind: 'dynamodb', batchGet: (keys) => real().batchGet(keys) };
  } else {
    const endpoint = config.daxEndpoint;
    // Loaded on first lookup: dist/dax.js, a separate file of the bundle (see scripts/build-lambda.ts).
    let loading: Promise<LookupBackend> | undefined;
    const load = () =>
      (loading ??= import('./dax-backend').then((m) =>
        m.createDaxBackend({
          endpoint,
          region: env.AWS_REGION,
          tableName: config.lookupTableName,
          maxRetries: SDK_MAX_ATTEMPTS - 1,
        }),
      ));
    backend = { kind: 'dax', batchGet: async (keys) => (await load()).batchGet(keys) };
  }

  const processor = createProcessor({
    config,
    backend,
    kinesis,
    sqs,
    logger,
    metrics,
    retry: options.retry,
    timing: options.timing,
    now: options.now,
  });
  logger.debug('enrichment handler initialised', { config: { ...config }, lookup: backend.kind });
  return Object.assign(processor, { config });
}
