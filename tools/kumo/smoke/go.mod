module streaming-pipeline/tools/kumo/smoke

go 1.24

// The CloudWatch client version of the pinned terraform-provider-aws (its go.mod), so the smoke
// test speaks the provider's smithy-rpc-v2-cbor, not a newer SDK's.
require (
	github.com/aws/aws-sdk-go-v2 v1.41.9
	github.com/aws/aws-sdk-go-v2/service/cloudwatch v1.57.2
	github.com/aws/smithy-go v1.26.0
)

require (
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.4.25 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.7.25 // indirect
)
