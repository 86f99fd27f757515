/**
 * The base every component stack extends: common variables, the naming label, one tag set,
 * the AWS provider configured from variables, and no backend (Atmos owns it).
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { Fn, type IResolvable, TerraformLocal, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { cond, exprList } from './expressions';
import { boolVariable, REQUIRED, stringMapVariable, stringVariable } from './variables';

/** RE2 pattern of one label element: lowercase letters and digits, starting with a letter. */
export const LABEL_ELEMENT = {
  regex: '[a-z][a-z0-9]{0,15}',
  hint: '1-16 lowercase letters or digits, starting with a letter',
};

/** An AWS region code such as us-east-1. */
const REGION = { regex: '[a-z]{2}(-[a-z]+)+-[0-9]', hint: 'an AWS region code such as us-east-1' };

/** An SNS topic ARN, or empty for "no alarm actions". */
const TOPIC_ARN_OR_EMPTY = {
  regex: '(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256})?',
  hint: 'an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>) or empty',
};

export interface PipelineStackProps {
  /** Default of the `name` variable: the last label element, e.g. "ingest". */
  readonly defaultName: string;
}

/**
 * One Atmos component = one CDKTF stack = one folder `components/<component>/` holding the
 * synthesized `main.tf.json`.
 *
 * Common variables (set by the stack mixins, identical in every component):
 * `region`, `namespace`, `environment`, `stage`, `name`, `tags`, `deletion_protection`,
 * `alarm_topic_arn`.
 */
export abstract class PipelineStack extends TerraformStack {
  /** The Atmos component name, e.g. "kinesis-ingest". */
  readonly component: string;
  /** `namespace-environment-stage-name`, e.g. acme-ue1-dev-ingest (a Terraform expression). */
  readonly labelId: string;
  /** The label id as a bare expression (`local.label_id`), for hand-written expressions. */
  readonly labelIdExpression: string;
  /** The shared tag set (a Terraform expression); also applied as provider default tags. */
  readonly tags: { [key: string]: string };
  /** `[var.alarm_topic_arn]`, or `[]` when no topic is set: alarm/ok actions of every alarm. */
  readonly alarmActions: string[];
  /** The deployment region (the `region` variable). */
  readonly region: string;
  /** The region as a bare expression (`var.region`), for hand-written `${...}` expressions. */
  readonly regionExpression: string;
  /** The `deletion_protection` variable: protect this component's stateful stores. */
  readonly deletionProtection: IResolvable;

  private partitionData?: DataAwsPartition;
  private callerIdentityData?: DataAwsCallerIdentity;

  protected constructor(scope: Construct, component: string, props: PipelineStackProps) {
    super(scope, component);
    this.component = component;

    const region = stringVariable(this, 'region', {
      description: 'AWS region to deploy into, e.g. us-east-1.',
      default: REQUIRED,
      pattern: REGION,
    });
    const namespace = stringVariable(this, 'namespace', {
      description: 'Label: organisation or project prefix, e.g. "acme".',
      default: REQUIRED,
      pattern: LABEL_ELEMENT,
    });
    const environment = stringVariable(this, 'environment', {
      description: 'Label: short region code, e.g. "ue1".',
      default: REQUIRED,
      pattern: LABEL_ELEMENT,
    });
    const stage = stringVariable(this, 'stage', {
      description: 'Label: deployment stage.',
      default: REQUIRED,
      allowed: ['local', 'dev', 'staging', 'prod'],
    });
    const name = stringVariable(this, 'name', {
      description: "Label: the resource's own name.",
      default: props.defaultName,
      pattern: {
        regex: '[a-z][a-z0-9-]{0,23}',
        hint: '1-24 lowercase letters, digits or hyphens, starting with a letter',
      },
    });
    const extraTags = stringMapVariable(this, 'tags', {
      description: 'Extra tags added to every resource (merged under the standard label tags).',
      default: {},
    });
    const protect = boolVariable(this, 'deletion_protection', {
      description:
        "Refuse to destroy or replace this component's stateful stores (streams, tables, queues, buckets, domains). The local and dev stacks turn it off.",
      default: true,
    });
    this.deletionProtection = protect.booleanValue;
    const alarmTopicArn = stringVariable(this, 'alarm_topic_arn', {
      description: 'SNS topic that every alarm of this component notifies (alarm and OK); "" = alarms without actions.',
      default: '',
      pattern: TOPIC_ARN_OR_EMPTY,
    });

    this.region = region.stringValue;
    this.regionExpression = region.fqn;
    const id = new TerraformLocal(
      this,
      'label_id',
      Fn.join('-', [namespace.stringValue, environment.stringValue, stage.stringValue, name.stringValue]),
    );
    this.labelId = id.asString;
    this.labelIdExpression = id.fqn;
    const tags = new TerraformLocal(
      this,
      'label_tags',
      Fn.merge([
        extraTags.value,
        {
          Namespace: namespace.stringValue,
          Environment: environment.stringValue,
          Stage: stage.stringValue,
          Name: this.labelId,
          Component: component,
          ManagedBy: 'cdktf',
        },
      ]),
    );
    this.tags = tags.asStringMap;
    // Written out by hand: Op.eq(x, '') renders the empty string as `undefined`.
    this.alarmActions = exprList(cond(`${alarmTopicArn.fqn} == ""`, '[]', `[${alarmTopicArn.fqn}]`));

    new AwsProvider(this, 'aws', {
      region: region.stringValue,
      defaultTags: [{ tags: this.tags }],
    });

    // Atmos writes backend.tf.json into the component folder; CDKTF would otherwise add a
    // local backend with a machine-specific path.
    this.addOverride('terraform.backend', undefined);
    this.addOverride('//.metadata.backend', 'atmos (backend.tf.json)');
    // "aws" alone means hashicorp/aws to Terraform and OpenTofu alike; say it explicitly. Any 6.x
    // from 6.25.0 (the version @cdktf/provider-aws 21.x was generated for): the lock file that
    // `init` writes pins the exact build per component.
    this.addOverride('terraform.required_providers.aws.source', 'hashicorp/aws');
    this.addOverride('terraform.required_providers.aws.version', '~> 6.25');
    // Variable validations refer to other variables (OpenTofu >= 1.8, Terraform >= 1.9).
    this.addOverride('terraform.required_version', '>= 1.9.0');
  }

  /** `<label id>-<suffix>`: the one naming rule for every resource in the pipeline. */
  resourceName(suffix?: string): string {
    return suffix ? `${this.labelId}-${suffix}` : this.labelId;
  }

  /** The AWS partition ("aws", "aws-cn", ...) for building ARNs from names. */
  get partition(): string {
    this.partitionData ??= new DataAwsPartition(this, 'partition');
    return this.partitionData.partition;
  }

  /** The partition as a bare expression, for use inside hand-written `${...}` expressions. */
  get partitionExpression(): string {
    void this.partition;
    return `${this.partitionData!.fqn}.partition`;
  }

  /** The account the provider's credentials belong to. */
  get accountId(): string {
    this.callerIdentityData ??= new DataAwsCallerIdentity(this, 'caller');
    return this.callerIdentityData.accountId;
  }

  /**
   * The ARN of a resource in this account and region, built from its name: components receive
   * names of other components' resources (wired by naming convention in the stack YAML) and
   * build exact ARNs for IAM from them, with no look-up.
   */
  arn(service: string, resource: string, options: { global?: boolean } = {}): string {
    const region = options.global ? '' : this.region;
    return `arn:${this.partition}:${service}:${region}:${this.accountId}:${resource}`;
  }

  /** The account id as a bare expression, for use inside hand-written `${...}` expressions. */
  get accountIdExpression(): string {
    void this.accountId;
    return `${this.callerIdentityData!.fqn}.account_id`;
  }

  /** Declares a Terraform output with a description (outputs may share a variable's name). */
  output(name: string, value: unknown, description: string): TerraformOutput {
    const output = new TerraformOutput(this, `output_${name}`, { value, description });
    output.overrideLogicalId(name);
    return output;
  }
}
