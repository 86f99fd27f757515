package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.testutil.AlpnBridge;
import com.acme.pipeline.flink.testutil.CounterCollectingReporter;
import com.acme.pipeline.flink.testutil.KinesisMock;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The EFO reader for real: the job with input_reader = EFO (FlinkKinesisConsumer, enhanced fan-out
 * record publisher, SubscribeToShard over HTTP/2 on TLS) against kinesis-mock.
 */
class KinesisMockEfoTest {
    private static final String REGION = "us-east-1";
    private static final long T0 = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();
    private static KinesisMock mock;
    private static AlpnBridge bridge;
    private static KinesisClient kinesis;

    @BeforeAll
    static void start() throws Exception {
        KinesisMock.trustItJvmWide();
        mock = KinesisMock.start();
        bridge = new AlpnBridge(mock.tlsPort());
        kinesis = KinesisClient.builder()
                .endpointOverride(URI.create(mock.plainEndpoint()))
                .region(Region.of(REGION))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (kinesis != null) {
            kinesis.close();
        }
        if (bridge != null) {
            bridge.close();
        }
        if (mock != null) {
            mock.close();
        }
    }

    private static String createStream(String name, int shards) throws InterruptedException {
        kinesis.createStream(b -> b.streamName(name).shardCount(shards));
        for (int i = 0; i < 100; i++) {
            if (kinesis.describeStreamSummary(b -> b.streamName(name)).streamDescriptionSummary().streamStatus()
                    == StreamStatus.ACTIVE) {
                break;
            }
            Thread.sleep(100);
        }
        return "arn:aws:kinesis:" + REGION + ":" + KinesisMock.ACCOUNT + ":stream/" + name;
    }

    private static byte[] event(String customer, long ts, int id) {
        return ("{\"event_id\":\"e" + id + "\",\"customer_id\":\"" + customer + "\",\"timestamp\":\""
                + Instant.ofEpochMilli(ts) + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void efoReaderSubscribesToShardsAndCountsExactly() throws Exception {
        String inArn = createStream("efo-ingest", 2);
        String outArn = createStream("efo-output", 1);
        kinesis.registerStreamConsumer(b -> b.streamARN(inArn).consumerName("analytics"));
        for (int i = 0; i < 100; i++) {
            if (kinesis.describeStreamConsumer(b -> b.streamARN(inArn).consumerName("analytics"))
                    .consumerDescription().consumerStatus() == ConsumerStatus.ACTIVE) {
                break;
            }
            Thread.sleep(100);
        }
        Map<String, Long> expected = new TreeMap<>();
        for (int k = 0; k < 600; k++) { // 10 minutes, 1 event/s, 4 customers
            long ts = T0 + k * 1000L;
            String c = "c" + (k % 4);
            kinesis.putRecord(b -> b.streamName("efo-ingest").partitionKey(c)
                    .data(SdkBytes.fromByteArray(event(c, ts, 0))));
            expected.merge(c + "#" + Instant.ofEpochMilli(ts - Math.floorMod(ts, 60_000L)), 1L, Long::sum);
        }
        for (String c : new String[] {"closer-a", "closer-b", "closer-c", "closer-d"}) { // both shards pass 12:10
            kinesis.putRecord(b -> b.streamName("efo-ingest").partitionKey(c)
                    .data(SdkBytes.fromByteArray(event(c, T0 + 20 * 60_000L, 1))));
        }

        Properties p = new Properties();
        p.setProperty(PipelineConfig.AWS_REGION, REGION);
        p.setProperty(PipelineConfig.INPUT_STREAM_ARN, inArn);
        p.setProperty(PipelineConfig.OUTPUT_STREAM_ARN, outArn);
        p.setProperty(PipelineConfig.INPUT_READER, "EFO");
        p.setProperty(PipelineConfig.INPUT_EFO_CONSUMER_NAME, "analytics");
        p.setProperty(PipelineConfig.INPUT_INITIAL_POSITION, "TRIM_HORIZON");
        p.setProperty(PipelineConfig.WINDOW_SIZE_MINUTES, "1");
        p.setProperty(PipelineConfig.WATERMARK_OUT_OF_ORDERNESS_SECONDS, "0");
        // the EFO start-up hold lasts one idleness timeout: long enough here for a subscription that
        // the emulator refuses once or twice (the connector retries with back-off) to start delivering
        p.setProperty(PipelineConfig.WATERMARK_IDLENESS_SECONDS, "20");
        // kinesis-mock's TLS port through the ALPN bridge (see AlpnBridge: why the SDK cannot talk to it directly)
        p.setProperty(PipelineConfig.AWS_ENDPOINT_URL, bridge.endpoint());
        PipelineConfig cfg = PipelineConfig.fromProperties(p);

        Configuration conf = new Configuration();
        CounterCollectingReporter.reset();
        CounterCollectingReporter.addTo(conf);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        AggregatorJob.configureEnvironment(env, Duration.ofSeconds(2));
        AggregatorJob.buildJob(env, cfg);
        JobClient job = env.executeAsync("efo");
        Map<String, Long> actual = new TreeMap<>();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
            while (System.nanoTime() < deadline && actual.size() < expected.size()) {
                actual.clear();
                for (Shard shard : kinesis.listShards(b -> b.streamName("efo-output")).shards()) {
                    String it = kinesis.getShardIterator(b -> b.streamName("efo-output").shardId(shard.shardId())
                            .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
                    final String iterator = it;
                    GetRecordsResponse r = kinesis.getRecords(b -> b.shardIterator(iterator).limit(10_000));
                    for (Record rec : r.records()) {
                        Map<String, Object> m = SimpleJson.parseFlat(rec.data().asUtf8String());
                        actual.merge((String) m.get("aggregate_id"), (Long) m.get("count"), Math::max);
                    }
                }
                assertThat(job.getJobStatus().get().isGloballyTerminalState()).as("job must keep running").isFalse();
                Thread.sleep(1000);
            }
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
        assertThat(actual).isEqualTo(expected);
        assertThat(CounterCollectingReporter.sum(AggregationPipeline.LATE_EVENTS_COUNTER)).isZero();
        assertThat(bridge.h2Connections()).as("HTTP/2 connections (SubscribeToShard)").isPositive();
        // EFO reader: the connector's own millisBehindLatest per shard (what Managed Flink maps to the alarm's metric)
        System.out.printf("EFO against kinesis-mock: %d aggregates exact, %d HTTP/2 connections bridged%n",
                actual.size(), bridge.h2Connections());
    }
}
