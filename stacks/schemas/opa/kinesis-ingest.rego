# kinesis-ingest: the stream's retention has one source, the stack's
# settings.ingest_retention_period_hours, which lambda-enrichment also reads (as
# source_stream_retention_hours, the bound of its maximum record age). A retention_period_hours
# var set on the component directly would make the two disagree, so it is refused here.
package atmos

import rego.v1

errors contains message if {
	hours := input.vars.retention_period_hours
	setting := object.get(input, ["settings", "ingest_retention_period_hours"], null)
	hours != setting
	message := sprintf(
		"retention_period_hours: must be the stack's settings.ingest_retention_period_hours = %v: set that instead, lambda-enrichment bounds its record age by the same value (got %v)\n",
		[setting, hours],
	)
}
