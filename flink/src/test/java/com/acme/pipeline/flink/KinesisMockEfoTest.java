package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.testutil.AlpnBridge;
import com.acme.pipeline.flink.testutil.CounterCollectingReporter;
import com.acme.pipeline.flink.testutil.KinesisMock;
import com.acme.pipeline.flink.testutil.TestKinesis;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

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
        kinesis = TestKinesis.client(mock.plainEndpoint(), REGION);
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
        return TestKinesis.createActiveStream(kinesis, name, shards, REGION, KinesisMock.ACCOUNT);
    }

    private static byte[] event(String customer, long ts, int id) {
        return ("{\"event_id\":\"e" + id + "\",\"customer_id\":\"" + customer + "\",\"timestamp\":\""
                + Instant.ofEpochMilli(ts) + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    private static Properties config(String inArn, String outArn, String reader) {
        Properties p = new Properties();
        p.setProperty(PipelineConfig.AWS_REGION, REGION);
        p.setProperty(PipelineConfig.INPUT_STREAM_ARN, inArn);
        p.setProperty(PipelineConfig.OUTPUT_STREAM_ARN, outArn);
        p.setProperty(PipelineConfig.INPUT_READER, reader);
        p.setProperty(PipelineConfig.INPUT_EFO_CONSUMER_NAME, "analytics");
        p.setProperty(PipelineConfig.INPUT_INITIAL_POSITION, "TRIM_HORIZON");
        p.setProperty(PipelineConfig.WINDOW_SIZE_MINUTES, "1");
        p.setProperty(PipelineConfig.WATERMARK_OUT_OF_ORDERNESS_SECONDS, "0");
        p.setProperty(PipelineConfig.WATERMARK_IDLENESS_SECONDS, "20");
        p.setProperty(PipelineConfig.INPUT_POLLING_INTERVAL_MS, "200");
        p.setProperty(PipelineConfig.AWS_ENDPOINT_URL, bridge.endpoint());
        return p;
    }

    /** Every aggregate in a stream: aggregate_id -> the counts emitted for it, in order. */
    private static Map<String, java.util.List<Long>> emitted(String stream) {
        Map<String, java.util.List<Long>> out = new TreeMap<>();
        for (Shard shard : kinesis.listShards(b -> b.streamName(stream)).shards()) {
            String it = kinesis.getShardIterator(b -> b.streamName(stream).shardId(shard.shardId())
                    .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            final String iterator = it;
            for (Record rec : kinesis.getRecords(b -> b.shardIterator(iterator).limit(10_000)).records()) {
                Map<String, Object> m = SimpleJson.parseFlat(rec.data().asUtf8String());
                out.computeIfAbsent((String) m.get("aggregate_id"), k -> new java.util.ArrayList<>()).add((Long) m.get("count"));
            }
        }
        return out;
    }

    private static void putEvents(String stream, int fromSecond, int toSecond) {
        for (int k = fromSecond; k < toSecond; k++) {
            long ts = T0 + k * 1000L;
            String c = "c" + (k % 4);
            kinesis.putRecord(b -> b.streamName(stream).partitionKey(c).data(SdkBytes.fromByteArray(event(c, ts, 0))));
        }
    }

    private static void waitForWindow(String stream, String aggregateId, JobClient job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        while (System.nanoTime() < deadline && !emitted(stream).containsKey(aggregateId)) {
            assertThat(job.getJobStatus().get().isGloballyTerminalState()).as("job must keep running").isFalse();
            Thread.sleep(500);
        }
        assertThat(emitted(stream)).containsKey(aggregateId);
    }

    /**
     * input_reader POLLING -> EFO with a snapshot: without allow_non_restored_state the restore is
     * refused; with it, the window state is kept (the window open at the switch continues) and the
     * new reader starts at initial_position (TRIM_HORIZON here: closed windows are re-emitted with
     * the same aggregate_id and version; the open window counts what the old reader had read twice).
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void readerSwitchKeepsWindowStateAndRestartsReadingAtTheInitialPosition(@org.junit.jupiter.api.io.TempDir java.nio.file.Path savepoints)
            throws Exception {
        String inArn = createStream("switch-ingest", 2);
        String outArn = createStream("switch-output", 1);
        kinesis.registerStreamConsumer(b -> b.streamARN(inArn).consumerName("analytics"));
        putEvents("switch-ingest", 0, 600); // 12:00:00 .. 12:09:59, 15 events per customer and minute

        // reader 1: POLLING, until the windows up to 12:08 fired; 12:09 is still open (no event after it)
        StreamExecutionEnvironment a = StreamExecutionEnvironment.createLocalEnvironment(1, new Configuration());
        AggregatorJob.configureEnvironment(a, Duration.ofSeconds(1));
        AggregatorJob.buildJob(a, PipelineConfig.fromProperties(config(inArn, outArn, "POLLING")));
        JobClient polling = a.executeAsync("switch-polling");
        waitForWindow("switch-output", "c3#2024-05-01T12:08:00Z", polling);
        Thread.sleep(2_000);
        String savepoint = polling.stopWithSavepoint(false, savepoints.toUri().toString(),
                org.apache.flink.core.execution.SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
        assertThat(emitted("switch-output")).doesNotContainKey("c0#2024-05-01T12:09:00Z");

        putEvents("switch-ingest", 600, 900); // 12:10 .. 12:14:59
        for (String c : new String[] {"closer-a", "closer-b", "closer-c", "closer-d"}) {
            kinesis.putRecord(b -> b.streamName("switch-ingest").partitionKey(c)
                    .data(SdkBytes.fromByteArray(event(c, T0 + 30 * 60_000L, 1))));
        }
        PipelineConfig efo = PipelineConfig.fromProperties(config(inArn, outArn, "EFO"));

        // reader 2 (EFO) from the snapshot, allow_non_restored_state = false: refused
        Configuration strict = new Configuration();
        strict.set(org.apache.flink.runtime.jobgraph.SavepointConfigOptions.SAVEPOINT_PATH, savepoint);
        StreamExecutionEnvironment b1 = StreamExecutionEnvironment.createLocalEnvironment(1, strict);
        AggregatorJob.configureEnvironment(b1, Duration.ofSeconds(1));
        AggregatorJob.buildJob(b1, efo);
        Throwable refused = null;
        try {
            JobClient j = b1.executeAsync("switch-efo-strict");
            j.getJobExecutionResult().get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            refused = e;
        }
        assertThat(refused).as("restore without allowNonRestoredState").isNotNull();
        assertThat(org.apache.flink.util.ExceptionUtils.stringifyException(refused))
                .contains("allowNonRestoredState");

        // allow_non_restored_state = true: window state kept, source positions dropped
        Configuration lenient = new Configuration(strict);
        lenient.set(org.apache.flink.runtime.jobgraph.SavepointConfigOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
        StreamExecutionEnvironment b2 = StreamExecutionEnvironment.createLocalEnvironment(1, lenient);
        AggregatorJob.configureEnvironment(b2, Duration.ofSeconds(1));
        AggregatorJob.buildJob(b2, efo);
        JobClient reader2 = b2.executeAsync("switch-efo");
        try {
            waitForWindow("switch-output", "c3#2024-05-01T12:14:00Z", reader2);
        } finally {
            reader2.cancel().get(30, TimeUnit.SECONDS);
        }
        Map<String, java.util.List<Long>> out = emitted("switch-output");
        for (int c = 0; c < 4; c++) {
            for (int minute = 0; minute < 15; minute++) {
                String id = "c" + c + "#" + Instant.ofEpochMilli(T0 + minute * 60_000L);
                if (minute < 9) { // closed before the switch, re-read from TRIM_HORIZON: same id, same version
                    assertThat(out.get(id)).as(id).containsOnly(15L).hasSize(2);
                } else if (minute == 9) { // open at the switch: kept state (15) + re-read (15)
                    assertThat(out.get(id)).as(id).containsExactly(30L);
                } else {
                    assertThat(out.get(id)).as(id).containsExactly(15L);
                }
            }
        }
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
