// Command smoke checks a running kumo's CloudWatch against what terraform-provider-aws needs:
// every field the provider puts on an alarm comes back unchanged from DescribeAlarms, tags
// round-trip, and dashboards can be put, read verbatim, listed and deleted. It uses the same
// aws-sdk-go-v2 CloudWatch client version as the provider (see go.mod), so it speaks the same
// smithy-rpc-v2-cbor. Exits non-zero at the first difference.
//
//	go run . -endpoint http://127.0.0.1:4566
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

var checks int

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kumo smoke: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func must[T any](v T, err error) T {
	if err != nil {
		fail("%v", err)
	}

	return v
}

// sameJSON compares two values by their JSON form (pointers compared by value) and fails with both.
func sameJSON(what string, want, got any) {
	w, g := must(json.Marshal(want)), must(json.Marshal(got))
	if string(w) != string(g) {
		fail("%s differs\n  put:  %s\n  read: %s", what, w, g)
	}
	checks++
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}

	return ""
}

func expectCode(what string, err error, code string) {
	if got := errorCode(err); got != code {
		fail("%s: want error code %q, got %q (%v)", what, code, got, err)
	}
	checks++
}

// readBack is what DescribeAlarms returns of an alarm, in the shape of PutMetricAlarm's input,
// so it compares field by field with what was put (Tags are read with ListTagsForResource).
func readBack(a types.MetricAlarm) cloudwatch.PutMetricAlarmInput {
	return cloudwatch.PutMetricAlarmInput{
		AlarmName:                        a.AlarmName,
		AlarmDescription:                 a.AlarmDescription,
		ActionsEnabled:                   a.ActionsEnabled,
		AlarmActions:                     a.AlarmActions,
		OKActions:                        a.OKActions,
		InsufficientDataActions:          a.InsufficientDataActions,
		MetricName:                       a.MetricName,
		Namespace:                        a.Namespace,
		Statistic:                        a.Statistic,
		ExtendedStatistic:                a.ExtendedStatistic,
		Dimensions:                       a.Dimensions,
		Period:                           a.Period,
		Unit:                             a.Unit,
		EvaluationPeriods:                a.EvaluationPeriods,
		DatapointsToAlarm:                a.DatapointsToAlarm,
		Threshold:                        a.Threshold,
		ThresholdMetricId:                a.ThresholdMetricId,
		ComparisonOperator:               a.ComparisonOperator,
		TreatMissingData:                 a.TreatMissingData,
		EvaluateLowSampleCountPercentile: a.EvaluateLowSampleCountPercentile,
		Metrics:                          a.Metrics,
	}
}

func dims(kv ...string) []types.Dimension {
	var out []types.Dimension
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}

	return out
}

func metricStat(namespace, name string, period int32, stat string, unit types.StandardUnit, d []types.Dimension) *types.MetricStat {
	return &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(name), Dimensions: d},
		Period: aws.Int32(period),
		Stat:   aws.String(stat),
		Unit:   unit,
	}
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}

	return m
}

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4566", "kumo's URL")
	account := flag.String("account", "000000000000", "the account id kumo puts in ARNs")
	region := flag.String("region", "us-east-1", "region of the client (and of kumo's AWS_DEFAULT_REGION)")
	flag.Parse()

	ctx := context.Background()
	cw := cloudwatch.New(cloudwatch.Options{
		Region:       *region,
		BaseEndpoint: endpoint,
		// Signed like the provider's requests (kumo does not check the signature).
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "smoke"}, nil
		}),
	})

	topic := "arn:aws:sns:" + *region + ":" + *account + ":alarms"

	// A single-metric alarm with every optional field the provider can send.
	single := &cloudwatch.PutMetricAlarmInput{
		AlarmName:                        aws.String("smoke-latency"),
		AlarmDescription:                 aws.String("p99 latency above 2.5 ms"),
		ActionsEnabled:                   aws.Bool(false),
		AlarmActions:                     []string{topic},
		OKActions:                        []string{topic},
		InsufficientDataActions:          []string{topic + "-insufficient"},
		MetricName:                       aws.String("Latency"),
		Namespace:                        aws.String("Smoke/Pipeline"),
		ExtendedStatistic:                aws.String("p99"),
		Dimensions:                       dims("StreamName", "ingest", "ConsumerName", "reader"),
		Period:                           aws.Int32(60),
		Unit:                             types.StandardUnitMilliseconds,
		EvaluationPeriods:                aws.Int32(5),
		DatapointsToAlarm:                aws.Int32(3),
		Threshold:                        aws.Float64(2.5),
		ComparisonOperator:               types.ComparisonOperatorGreaterThanThreshold,
		TreatMissingData:                 aws.String("breaching"),
		EvaluateLowSampleCountPercentile: aws.String("ignore"),
		Tags:                             []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}, {Key: aws.String("env"), Value: aws.String("local")}},
	}
	// A metric-math alarm: no metric of its own, the expression over two metric queries.
	math := &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String("smoke-error-rate"),
		AlarmDescription:   aws.String("more than 5 % of invocations fail"),
		ActionsEnabled:     aws.Bool(true),
		AlarmActions:       []string{topic},
		EvaluationPeriods:  aws.Int32(3),
		DatapointsToAlarm:  aws.Int32(2),
		Threshold:          aws.Float64(5),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		TreatMissingData:   aws.String("notBreaching"),
		Metrics: []types.MetricDataQuery{
			{Id: aws.String("rate"), Expression: aws.String("100 * errors / MAX([errors, invocations])"), Label: aws.String("Error rate"), ReturnData: aws.Bool(true)},
			{Id: aws.String("errors"), MetricStat: metricStat("AWS/Lambda", "Errors", 60, "Sum", types.StandardUnitCount, dims("FunctionName", "enrich")), ReturnData: aws.Bool(false)},
			{Id: aws.String("invocations"), MetricStat: metricStat("AWS/Lambda", "Invocations", 60, "Sum", "", dims("FunctionName", "enrich")), ReturnData: aws.Bool(false), AccountId: aws.String(*account)},
		},
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("local")}},
	}
	// An alarm on a threshold metric (anomaly band): it has ThresholdMetricId and no Threshold.
	band := &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String("smoke-anomaly"),
		EvaluationPeriods:  aws.Int32(2),
		ComparisonOperator: types.ComparisonOperatorLessThanLowerOrGreaterThanUpperThreshold,
		ThresholdMetricId:  aws.String("band"),
		TreatMissingData:   aws.String("missing"),
		Metrics: []types.MetricDataQuery{
			{Id: aws.String("records"), MetricStat: metricStat("AWS/Kinesis", "IncomingRecords", 300, "Average", "", dims("StreamName", "ingest")), ReturnData: aws.Bool(true)},
			{Id: aws.String("band"), Expression: aws.String("ANOMALY_DETECTION_BAND(records, 2)"), Label: aws.String("expected"), ReturnData: aws.Bool(true), Period: aws.Int32(300)},
		},
	}
	alarms := []*cloudwatch.PutMetricAlarmInput{single, math, band}
	names := []string{}
	for _, in := range alarms {
		must(cw.PutMetricAlarm(ctx, in))
		names = append(names, aws.ToString(in.AlarmName))
	}

	describe := func() map[string]types.MetricAlarm {
		out := must(cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names, AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm}}))
		got := map[string]types.MetricAlarm{}
		for _, a := range out.MetricAlarms {
			got[aws.ToString(a.AlarmName)] = a
		}

		return got
	}
	got := describe()
	if len(got) != len(alarms) {
		fail("DescribeAlarms returned %d alarms, want %d", len(got), len(alarms))
	}
	for _, in := range alarms {
		a := got[aws.ToString(in.AlarmName)]
		want := *in
		want.Tags = nil
		if want.ActionsEnabled == nil {
			want.ActionsEnabled = aws.Bool(true) // AWS's default
		}
		sameJSON("alarm "+aws.ToString(in.AlarmName), want, readBack(a))
		sameJSON("ARN of "+aws.ToString(in.AlarmName), "arn:aws:cloudwatch:"+*region+":"+*account+":alarm:"+aws.ToString(in.AlarmName), aws.ToString(a.AlarmArn))
		sameJSON("tags of "+aws.ToString(in.AlarmName),
			tagMap(in.Tags), tagMap(must(cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: a.AlarmArn})).Tags))
	}
	if got[aws.ToString(band.AlarmName)].Threshold != nil {
		fail("alarm on ThresholdMetricId returned a Threshold")
	}
	checks++

	// An update keeps the alarm's state and ignores Tags (tags change through TagResource only).
	singleARN := got[aws.ToString(single.AlarmName)].AlarmArn
	must(cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: single.AlarmName, StateValue: types.StateValueAlarm, StateReason: aws.String("smoke")}))
	updated := *single
	updated.AlarmDescription = aws.String("p99 latency above 3 ms")
	updated.Threshold = aws.Float64(3)
	updated.Tags = []types.Tag{{Key: aws.String("ignored"), Value: aws.String("on update")}}
	must(cw.PutMetricAlarm(ctx, &updated))
	a := describe()[aws.ToString(single.AlarmName)]
	want := updated
	want.Tags = nil
	sameJSON("updated alarm", want, readBack(a))
	sameJSON("state after update", types.StateValueAlarm, a.StateValue)
	sameJSON("tags after update", tagMap(single.Tags), tagMap(must(cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: singleARN})).Tags))

	must(cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: singleARN, Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("smoke")}, {Key: aws.String("env"), Value: aws.String("test")}}}))
	must(cw.UntagResource(ctx, &cloudwatch.UntagResourceInput{ResourceARN: singleARN, TagKeys: []string{"team"}}))
	sameJSON("tags after TagResource/UntagResource", map[string]string{"env": "test", "owner": "smoke"},
		tagMap(must(cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: singleARN})).Tags))

	// Neither a metric nor metric queries: refused, naming the field.
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("smoke-nothing"), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold})
	expectCode("alarm without metric", err, "MissingParameter")

	must(cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: names}))
	if left := describe(); len(left) != 0 {
		fail("%d alarms left after DeleteAlarms", len(left))
	}
	checks++
	sameJSON("tags after DeleteAlarms", map[string]string{}, tagMap(must(cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: singleARN})).Tags))
	_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: names[:1]})
	expectCode("DeleteAlarms of a deleted alarm", err, "ResourceNotFound")

	// Dashboards: the body comes back byte for byte (the provider compares JSON itself).
	body := `{"widgets": [ {"type":"metric","x":0,"y":0,"width":12,"height":6,
  "properties":{"metrics":[["AWS/Kinesis","IncomingRecords","StreamName","ingest"]],"period":60,"stat":"Sum","region":"us-east-1","title":"Ingest"}} ]}`
	other := `{"widgets":[]}`
	must(cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("smoke-pipeline"), DashboardBody: aws.String(body)}))
	must(cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("smoke-other"), DashboardBody: aws.String(other)}))
	must(cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("unrelated"), DashboardBody: aws.String(other)}))
	d := must(cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("smoke-pipeline")}))
	sameJSON("dashboard", []string{"smoke-pipeline", body, "arn:aws:cloudwatch::" + *account + ":dashboard/smoke-pipeline"},
		[]string{aws.ToString(d.DashboardName), aws.ToString(d.DashboardBody), aws.ToString(d.DashboardArn)})

	list := must(cw.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{DashboardNamePrefix: aws.String("smoke-")}))
	var entries []string
	for _, e := range list.DashboardEntries {
		if e.LastModified == nil || e.LastModified.IsZero() {
			fail("dashboard %s has no LastModified", aws.ToString(e.DashboardName))
		}
		entries = append(entries, fmt.Sprintf("%s %s %d", aws.ToString(e.DashboardName), aws.ToString(e.DashboardArn), aws.ToInt64(e.Size)))
	}
	sort.Strings(entries)
	sameJSON("ListDashboards smoke-", []string{
		fmt.Sprintf("smoke-other arn:aws:cloudwatch::%s:dashboard/smoke-other %d", *account, len(other)),
		fmt.Sprintf("smoke-pipeline arn:aws:cloudwatch::%s:dashboard/smoke-pipeline %d", *account, len(body)),
	}, entries)

	_, err = cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("smoke-bad"), DashboardBody: aws.String(`{"widgets": [`)})
	expectCode("PutDashboard with a body that is not JSON", err, "InvalidParameterInput")
	_, err = cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("smoke bad name"), DashboardBody: aws.String(other)})
	expectCode("PutDashboard with a space in the name", err, "InvalidParameterInput")

	must(cw.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"smoke-pipeline", "smoke-other", "unrelated"}}))
	_, err = cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("smoke-pipeline")})
	// The provider tests for this code to notice a dashboard deleted outside Terraform.
	expectCode("GetDashboard after delete", err, "ResourceNotFound")
	var notFound *types.DashboardNotFoundError
	if !errors.As(err, &notFound) {
		fail("GetDashboard after delete: want *types.DashboardNotFoundError, got %T", err)
	}
	checks++
	_, err = cw.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"smoke-pipeline"}})
	expectCode("DeleteDashboards of a deleted dashboard", err, "ResourceNotFound")
	left := must(cw.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{}))
	if n := len(left.DashboardEntries); n != 0 {
		fail("%d dashboards left after DeleteDashboards", n)
	}
	checks++

	fmt.Printf("kumo smoke: %d checks passed against %s\n", checks, *endpoint)
}
