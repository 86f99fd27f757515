# lambda-enrichment: the event source mapping's maximum record age must leave part of the ingest
# stream's retention for a replay of the on-failure queue (atmos replay-failures): the on-failure
# message only names the records, so they must still be in the stream when the replay reads them.
#
# Input: the component's configuration as `atmos describe component` shows it. The two values
# come from different components' settings: source_stream_retention_hours is wired by the
# catalog from settings.ingest_retention_period_hours, the value kinesis-ingest's
# retention_period_hours is set from. Types and ranges are the JSON Schema's job
# (lambda-enrichment.json); this policy checks only the relation, and only between numbers.
#
# The same bound is a Terraform validation of maximum_record_age_seconds; the margin is
# REPLAY_MARGIN_SECONDS in components/lambda-enrichment/contract.ts (a test pins the two).
package atmos

import rego.v1

replay_margin_seconds := 21600

errors contains message if {
	age := input.vars.maximum_record_age_seconds
	hours := input.vars.source_stream_retention_hours
	is_number(age)
	is_number(hours)
	limit := (hours * 3600) - replay_margin_seconds
	age > limit
	message := sprintf(
		"Invalid combination: maximum_record_age_seconds = %v leaves less than %v h of the ingest stream's retention for a replay: with source_stream_retention_hours = %v (settings.ingest_retention_period_hours, kinesis-ingest retention_period_hours) maximum_record_age_seconds must be from 60 to %v (= %v × 3600 - %v).",
		[age, replay_margin_seconds / 3600, hours, limit, hours, replay_margin_seconds],
	)
}

# The profile cache gets at most half of the function's memory (the same rule as the Terraform
# validation of cache_max_bytes): the rest is the runtime, the batch and the SDK's buffers.
errors contains message if {
	bytes := object.get(input.vars, "cache_max_bytes", 67108864)
	memory := object.get(input.vars, "memory_size_mb", 256)
	is_number(bytes)
	is_number(memory)
	bytes > memory * 524288
	message := sprintf(
		"Invalid combination: cache_max_bytes = %v is more than half of memory_size_mb = %v: allowed range 0 to %v (memory_size_mb × 524288).",
		[bytes, memory, memory * 524288],
	)
}
