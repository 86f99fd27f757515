/** The firehose-s3 component's delivery settings as the Firehose API takes them, from its synthesized JSON. */
import type { ProcessingConfiguration, ProcessorParameterName, ProcessorType } from '@aws-sdk/client-firehose';
import { expandDynamic, localsConditional } from './dynamic-blocks';
import { onlyResource, type TerraformJson } from './synth';

interface ExpandedProcessing {
  enabled: boolean;
  processors: { type: string; parameters: { parameter_name: string; parameter_value: string }[] }[];
}

/** ExtendedS3 ProcessingConfiguration for the setting: the dynamic processors block expanded as Terraform does. */
export function archiveProcessing(tf: TerraformJson, dynamicPartitioning: boolean): ProcessingConfiguration {
  const ext = onlyResource(tf, 'aws_kinesis_firehose_delivery_stream')[1].extended_s3_configuration as {
    processing_configuration: Record<string, unknown>;
  };
  const p = expandDynamic(
    ext.processing_configuration,
    localsConditional(tf, { dynamic_partitioning_enabled: dynamicPartitioning }),
  ) as unknown as ExpandedProcessing;
  return {
    Enabled: p.enabled,
    Processors: p.processors.map((q) => ({
      Type: q.type as ProcessorType,
      Parameters: q.parameters.map((r) => ({
        ParameterName: r.parameter_name as ProcessorParameterName,
        ParameterValue: r.parameter_value,
      })),
    })),
  };
}
