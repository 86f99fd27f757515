# What components/shared/alarms.ts and components/monitoring create, reduced to CloudWatch only:
# a percentile alarm with every optional field, a metric-math alarm, an anomaly-band alarm
# (threshold_metric_id) and a dashboard, with default and resource tags. run.sh applies it
# against kumo, re-plans (must be "No changes"), updates threshold and tags, re-plans, destroys.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "6.47.1" }
  }
}

variable "cloudwatch_endpoint" { type = string }
variable "threshold" {
  type    = number
  default = 250
}
variable "component_tag" {
  type    = string
  default = "kinesis-ingest"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = true
  endpoints { cloudwatch = var.cloudwatch_endpoint }
  default_tags { tags = { project = "streaming-pipeline", stage = "local" } }
}

locals { topic = "arn:aws:sns:us-east-1:123456789012:pipeline-alarms" }

# Like components/shared/alarms.ts metricAlarm with a percentile statistic.
resource "aws_cloudwatch_metric_alarm" "latency" {
  alarm_name                            = "kumo-proof-latency"
  alarm_description                     = "p99 GetRecords latency"
  comparison_operator                   = "GreaterThanThreshold"
  threshold                             = var.threshold
  evaluation_periods                    = 3
  datapoints_to_alarm                   = 2
  treat_missing_data                    = "notBreaching"
  evaluate_low_sample_count_percentiles = "ignore"
  alarm_actions                         = [local.topic]
  ok_actions                            = [local.topic]
  insufficient_data_actions             = [local.topic]
  namespace                             = "AWS/Kinesis"
  metric_name                           = "GetRecords.Latency"
  dimensions                            = { StreamName = "ingest" }
  period                                = 60
  extended_statistic                    = "p99"
  unit                                  = "Milliseconds"
  tags                                  = { component = var.component_tag }
}

# Like components/shared/alarms.ts mathAlarm.
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  alarm_name          = "kumo-proof-error-rate"
  alarm_description   = "Lambda error rate above 5 %"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 5
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  actions_enabled     = false
  alarm_actions       = [local.topic]
  ok_actions          = [local.topic]

  metric_query {
    id          = "result"
    expression  = "100 * errors / MAX([errors, invocations])"
    label       = "error-rate"
    return_data = true
  }
  metric_query {
    id          = "errors"
    return_data = false
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = "enrich" }
      period      = 60
      stat        = "Sum"
      unit        = "Count"
    }
  }
  metric_query {
    id          = "invocations"
    return_data = false
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      dimensions  = { FunctionName = "enrich" }
      period      = 60
      stat        = "Sum"
    }
  }
}

# Anomaly band: threshold_metric_id instead of threshold.
resource "aws_cloudwatch_metric_alarm" "band" {
  alarm_name          = "kumo-proof-band"
  comparison_operator = "LessThanLowerOrGreaterThanUpperThreshold"
  evaluation_periods  = 2
  threshold_metric_id = "band"

  metric_query {
    id          = "band"
    expression  = "ANOMALY_DETECTION_BAND(records, 2)"
    label       = "expected"
    return_data = true
  }
  metric_query {
    id          = "records"
    return_data = true
    metric {
      namespace   = "AWS/Kinesis"
      metric_name = "IncomingRecords"
      dimensions  = { StreamName = "ingest" }
      period      = 300
      stat        = "Average"
    }
  }
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "kumo-proof-pipeline"
  dashboard_body = jsonencode({
    widgets = [{
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        metrics = [["AWS/Kinesis", "IncomingRecords", "StreamName", "ingest"]]
        period  = 60, stat = "Sum", region = "us-east-1", title = "Ingest ${var.threshold}"
      }
    }]
  })
}

output "arns" {
  value = [aws_cloudwatch_metric_alarm.latency.arn, aws_cloudwatch_dashboard.pipeline.dashboard_arn]
}
