package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.testutil.CountingKinesisProxy;
import com.acme.pipeline.flink.testutil.MotoServer;
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
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole job (KinesisStreamsSource -> windows -> KinesisStreamsSink) against a moto server on
 * 127.0.0.1: raw events in the ingest stream, aggregates read back from the output stream.
 */
class KinesisMotoTest {
    private static final String ACCOUNT = "123456789012";
    private static final String REGION = "us-east-1";
    private static MotoServer moto;
    /** The job talks to moto through this proxy: it serializes writes (moto's put_record is not thread-safe). */
    private static CountingKinesisProxy proxy;
    private static KinesisClient kinesis;

    @BeforeAll
    static void startMoto() throws Exception {
        moto = MotoServer.start();
        proxy = new CountingKinesisProxy(moto.endpoint());
        kinesis = TestKinesis.client(moto.endpoint(), REGION);
    }

    @AfterAll
    static void stopMoto() throws Exception {
        if (kinesis != null) {
            kinesis.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    private static String createStream(String name, int shards) throws InterruptedException {
        return TestKinesis.createActiveStream(kinesis, name, shards, REGION, ACCOUNT);
    }

    private static void put(String stream, String customer, String json) {
        kinesis.putRecord(b -> b.streamName(stream).partitionKey(customer)
                .data(SdkBytes.fromString(json, StandardCharsets.UTF_8)));
    }

    private static String event(String id, String customer, String ts) {
        return "{\"event_id\":\"" + id + "\",\"customer_id\":\"" + customer + "\",\"event_type\":\"click\","
                + "\"timestamp\":\"" + ts + "\",\"payload\":{\"page\":\"/x\",\"n\":[1,2]}}";
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aggregatesFromIngestStreamArriveInOutputStream() throws Exception {
        String inArn = createStream("ingest", 2);
        String outArn = createStream("output", 1);

        // window 1: 12:00-12:01 ; window 2: 12:01-12:02
        put("ingest", "c1", event("e1", "c1", "2024-05-01T12:00:05Z"));
        put("ingest", "c1", event("e2", "c1", "2024-05-01T12:00:30.500Z"));
        put("ingest", "c2", event("e3", "c2", "2024-05-01T12:00:10Z"));
        put("ingest", "c1", event("e4", "c1", "2024-05-01T14:00:59+02:00")); // = 12:00:59Z
        put("ingest", "c2", event("e5", "c2", "2024-05-01T12:01:10Z"));
        put("ingest", "c2", "not json at all");
        put("ingest", "c3", "{\"customer_id\":\"c3\"}");
        // moves the watermark far beyond both windows; the other shard goes idle
        put("ingest", "c9", event("e6", "c9", "2024-05-01T13:00:00Z"));

        Properties p = new Properties();
        p.setProperty(PipelineConfig.AWS_REGION, REGION);
        p.setProperty(PipelineConfig.INPUT_STREAM_ARN, inArn);
        p.setProperty(PipelineConfig.OUTPUT_STREAM_ARN, outArn);
        p.setProperty(PipelineConfig.INPUT_INITIAL_POSITION, "TRIM_HORIZON");
        p.setProperty(PipelineConfig.WINDOW_SIZE_MINUTES, "1");
        p.setProperty(PipelineConfig.WATERMARK_OUT_OF_ORDERNESS_SECONDS, "0");
        p.setProperty(PipelineConfig.WATERMARK_IDLENESS_SECONDS, "1");
        p.setProperty(PipelineConfig.AWS_ENDPOINT_URL, proxy.endpoint());
        PipelineConfig cfg = PipelineConfig.fromProperties(p);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
        AggregatorJob.configureEnvironment(env, java.time.Duration.ofSeconds(2));
        AggregatorJob.buildJob(env, cfg);
        JobClient job = env.executeAsync("moto-e2e");
        Map<String, Map<String, Object>> byKey = new TreeMap<>();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
            while (System.nanoTime() < deadline && byKey.size() < 3) {
                for (String json : readAll("output")) {
                    Map<String, Object> m = SimpleJson.parseFlat(json);
                    byKey.put(m.get("customer_id") + "@" + m.get("window_start"), m);
                }
                if (job.getJobStatus().get().isGloballyTerminalState()) {
                    break;
                }
                Thread.sleep(500);
            }
            assertThat(job.getJobStatus().get().isGloballyTerminalState())
                    .as("job must still be running").isFalse();
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }

        assertThat(byKey.keySet()).containsExactly(
                "c1@2024-05-01T12:00:00Z", "c2@2024-05-01T12:00:00Z", "c2@2024-05-01T12:01:00Z");
        Map<String, Object> c1 = byKey.get("c1@2024-05-01T12:00:00Z");
        assertThat(c1).containsEntry("record_type", "aggregate")
                .containsEntry("count", 3L)
                .containsEntry("window_end", "2024-05-01T12:01:00Z")
                .containsEntry("timestamp", "2024-05-01T12:01:00Z");
        assertThat(byKey.get("c2@2024-05-01T12:00:00Z")).containsEntry("count", 1L);
        assertThat(byKey.get("c2@2024-05-01T12:01:00Z")).containsEntry("count", 1L);
    }

    /** All records in a stream, every shard from TRIM_HORIZON, with partition keys checked. */
    private static List<String> readAll(String stream) {
        List<String> out = new ArrayList<>();
        for (Shard shard : kinesis.listShards(b -> b.streamName(stream)).shards()) {
            String it = kinesis.getShardIterator(b -> b.streamName(stream).shardId(shard.shardId())
                    .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            for (int i = 0; i < 20 && it != null; i++) {
                final String iterator = it;
                GetRecordsResponse r = kinesis.getRecords(b -> b.shardIterator(iterator).limit(1000));
                for (Record rec : r.records()) {
                    String json = rec.data().asUtf8String();
                    Map<String, Object> m = SimpleJson.parseFlat(json);
                    assertThat(rec.partitionKey()).as("partition key of " + json).isEqualTo(m.get("customer_id"));
                    out.add(json);
                }
                if (r.records().isEmpty()) {
                    break;
                }
                it = r.nextShardIterator();
            }
        }
        return out;
    }

}
