package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.io.KinesisIo;
import com.acme.pipeline.flink.io.PacedPollingSource;
import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.testutil.CounterCollectingReporter;
import com.acme.pipeline.flink.testutil.CountingKinesisProxy;
import com.acme.pipeline.flink.testutil.MotoServer;
import com.acme.pipeline.flink.testutil.TestKinesis;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.KinesisStreamsSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointConfigOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole job (paced POLLING reader, per-shard watermarks, windows, Kinesis sink) against a moto
 * server with a 4-shard ingest stream: one shard 10 minutes behind the others, one shard of garbage
 * only, one far-future event, and a stop-with-savepoint / restore in the middle. The output, kept
 * per aggregate_id at the highest version, must equal an independent count of the input exactly.
 * Also: the GetRecords rate per shard, measured by a proxy in front of moto, and the lag gauge
 * the processing-lag alarm reads.
 */
class KinesisExactCountsTest {
    private static final String ACCOUNT = "123456789012";
    private static final String REGION = "us-east-1";
    private static final long T0 = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();
    private static final long MIN = 60_000;
    private static final int CUSTOMERS = 5;
    private static MotoServer moto;
    private static CountingKinesisProxy proxy;
    private static KinesisClient kinesis;

    @BeforeAll
    static void start() throws Exception {
        moto = MotoServer.start();
        proxy = new CountingKinesisProxy(moto.endpoint());
        kinesis = TestKinesis.client(moto.endpoint(), REGION);
    }

    @AfterAll
    static void stop() throws Exception {
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

    /** Puts records on one shard (explicit hash key = the shard's starting hash key), checking where they went. */
    private static void putOnShard(String stream, Shard shard, List<byte[]> records) {
        for (int from = 0; from < records.size(); from += 500) {
            List<PutRecordsRequestEntry> batch = new ArrayList<>();
            for (byte[] r : records.subList(from, Math.min(records.size(), from + 500))) {
                batch.add(PutRecordsRequestEntry.builder().partitionKey("pk")
                        .explicitHashKey(shard.hashKeyRange().startingHashKey()).data(SdkBytes.fromByteArray(r)).build());
            }
            PutRecordsResponse resp = kinesis.putRecords(b -> b.streamName(stream).records(batch));
            assertThat(resp.failedRecordCount()).isZero();
            assertThat(resp.records()).extracting(PutRecordsResultEntry::shardId).containsOnly(shard.shardId());
        }
    }

    private static byte[] event(String customer, long ts, String id) {
        return ("{\"event_id\":\"" + id + "\",\"customer_id\":\"" + customer + "\",\"event_type\":\"view\","
                + "\"timestamp\":\"" + Instant.ofEpochMilli(ts) + "\",\"payload\":{\"n\":1}}").getBytes(StandardCharsets.UTF_8);
    }

    private static Properties config(String inArn, String outArn, String endpoint) {
        Properties p = new Properties();
        p.setProperty(PipelineConfig.AWS_REGION, REGION);
        p.setProperty(PipelineConfig.INPUT_STREAM_ARN, inArn);
        p.setProperty(PipelineConfig.OUTPUT_STREAM_ARN, outArn);
        p.setProperty(PipelineConfig.INPUT_INITIAL_POSITION, "TRIM_HORIZON");
        p.setProperty(PipelineConfig.WINDOW_SIZE_MINUTES, "1");
        p.setProperty(PipelineConfig.WATERMARK_OUT_OF_ORDERNESS_SECONDS, "0");
        p.setProperty(PipelineConfig.WATERMARK_IDLENESS_SECONDS, "5");
        p.setProperty(PipelineConfig.INPUT_POLLING_INTERVAL_MS, "200");
        p.setProperty(PipelineConfig.AWS_ENDPOINT_URL, endpoint);
        return p;
    }

    /** Output records by aggregate_id; every repeat of an id must carry the same version and count. */
    private static Map<String, Map<String, Object>> latestById(String stream) {
        Map<String, Map<String, Object>> byId = new TreeMap<>();
        for (Shard shard : kinesis.listShards(b -> b.streamName(stream)).shards()) {
            String it = kinesis.getShardIterator(b -> b.streamName(stream).shardId(shard.shardId())
                    .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            while (it != null) {
                final String iterator = it;
                GetRecordsResponse r = kinesis.getRecords(b -> b.shardIterator(iterator).limit(10_000));
                for (Record rec : r.records()) {
                    Map<String, Object> m = SimpleJson.parseFlat(rec.data().asUtf8String());
                    assertThat(m.get("aggregate_id")).isEqualTo(m.get("customer_id") + "#" + m.get("window_start"));
                    assertThat(m.get("version")).isEqualTo(m.get("count"));
                    Map<String, Object> before = byId.get((String) m.get("aggregate_id"));
                    if (before == null || (Long) before.get("version") < (Long) m.get("version")) {
                        byId.put((String) m.get("aggregate_id"), m);
                    }
                }
                if (r.records().isEmpty()) {
                    break;
                }
                it = r.nextShardIterator();
            }
        }
        return byId;
    }

    private static Map<String, Long> counts(Map<String, Map<String, Object>> byId) {
        Map<String, Long> out = new TreeMap<>();
        byId.forEach((id, m) -> out.put(id, (Long) m.get("count")));
        return out;
    }

    private static void waitFor(Predicate<Map<String, Map<String, Object>>> done, String stream, JobClient job,
            Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (done.test(latestById(stream))) {
                return;
            }
            assertThat(job.getJobStatus().get().isGloballyTerminalState()).as("job must keep running").isFalse();
            Thread.sleep(500);
        }
    }

    private static StreamExecutionEnvironment env(Configuration conf) {
        CounterCollectingReporter.addTo(conf);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, conf);
        AggregatorJob.configureEnvironment(env, Duration.ofSeconds(1));
        return env;
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void exactCountsThroughLaggingShardGarbageShardFutureEventAndRestore(@TempDir Path savepoints) throws Exception {
        CounterCollectingReporter.reset();
        String inArn = createStream("exact-ingest", 4);
        String outArn = createStream("exact-output", 1);
        List<Shard> shards = kinesis.listShards(b -> b.streamName("exact-ingest")).shards();
        assertThat(shards).hasSize(4);

        // The input, per shard, in the order it is written; and an independent count of it:
        // customer#window_start -> number of usable events (every window but the closers' one closes).
        Map<String, Long> expected = new TreeMap<>();
        List<List<byte[]>> input = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            input.add(new ArrayList<>());
        }
        for (int s = 0; s < 3; s++) {
            long base = s == 2 ? T0 - 10 * MIN : T0; // shard 2 is 10 minutes behind the others
            for (int k = 0; k < 1800; k++) { // 60 minutes, one event per 2 s per shard
                long ts = base + k * 2000L + s * 500L;
                String customer = "c" + ((k + s) % CUSTOMERS);
                input.get(s).add(event(customer, ts, s + "-" + k));
                long ws = ts - Math.floorMod(ts, MIN);
                expected.merge(customer + "#" + Instant.ofEpochMilli(ws), 1L, Long::sum);
            }
        }
        int garbage = 180;
        for (int k = 0; k < garbage; k++) { // shard 3: garbage only
            input.get(3).add(k % 3 == 0 ? ("not json " + k).getBytes(StandardCharsets.UTF_8)
                    : k % 3 == 1 ? "{\"customer_id\":\"c1\"}".getBytes(StandardCharsets.UTF_8)
                    : new byte[] {(byte) 0xff, (byte) k, 0, 1});
        }
        // one far-future event (year 2999) in the middle of shard 0: shard 0's later events stay on time
        input.get(0).add(700, event("c1", Instant.parse("2999-01-01T00:00:00Z").toEpochMilli(), "future"));
        // closers: move each event shard's watermark past the last window; their own window stays open
        for (int s = 0; s < 3; s++) {
            input.get(s).add(event("closer", T0 + 120 * MIN, "close-" + s));
        }

        // Written while the jobs run, 36 ticks of 500 ms: the lagging shard keeps receiving (it is
        // behind, not idle), the garbage shard goes idle; the restore happens in the middle.
        int ticks = 36;
        java.util.concurrent.atomic.AtomicInteger tick = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<Throwable> feederError = new java.util.concurrent.atomic.AtomicReference<>();
        Thread feeder = new Thread(() -> {
            try {
                for (int t = 0; t < ticks; t++) {
                    for (int s = 0; s < 4; s++) {
                        List<byte[]> all = input.get(s);
                        int per = (all.size() + ticks - 1) / ticks;
                        int from = Math.min(all.size(), t * per);
                        int to = t == ticks - 1 ? all.size() : Math.min(all.size(), from + per);
                        if (from < to) {
                            putOnShard("exact-ingest", shards.get(s), all.subList(from, to));
                        }
                    }
                    tick.incrementAndGet();
                    Thread.sleep(500);
                }
            } catch (Throwable e) {
                feederError.set(e);
            }
        });

        PipelineConfig cfg = PipelineConfig.fromProperties(config(inArn, outArn, proxy.endpoint()));
        // --- job 1: reads while the input is written, stopped with a savepoint halfway
        StreamExecutionEnvironment env1 = env(new Configuration());
        AggregatorJob.buildJob(env1, cfg);
        proxy.reset();
        JobClient job1 = env1.executeAsync("exact-1");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (proxy.getRecordsTimes().size() < 4 && System.nanoTime() < deadline) {
            Thread.sleep(100); // all 4 shards assigned and polled
        }
        assertThat(proxy.getRecordsTimes()).as("job 1 polls the 4 shards").hasSize(4);
        feeder.start();
        waitFor(m -> tick.get() >= 14 && !m.isEmpty(), "exact-output", job1, Duration.ofSeconds(60));
        String savepoint = job1.stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                .get(60, TimeUnit.SECONDS);
        int ticksAtRestore = tick.get();
        Map<String, Long> beforeRestore = counts(latestById("exact-output"));

        // --- job 2: restored from the savepoint, reads the rest
        Configuration restore = new Configuration();
        restore.set(SavepointConfigOptions.SAVEPOINT_PATH, savepoint);
        StreamExecutionEnvironment env2 = env(restore);
        AggregatorJob.buildJob(env2, cfg);
        JobClient job2 = env2.executeAsync("exact-2");
        try {
            feeder.join(120_000);
            assertThat(feederError.get()).isNull();
            waitFor(m -> m.size() >= expected.size(), "exact-output", job2, Duration.ofSeconds(120));
        } finally {
            job2.cancel().get(30, TimeUnit.SECONDS);
        }

        assertThat(ticksAtRestore).as("the restore happened in the middle of the input").isBetween(14, ticks - 2);
        assertThat(beforeRestore).as("some windows fired before the restore").isNotEmpty();
        assertThat(beforeRestore.size()).as("and most were still open").isLessThan(expected.size());
        Map<String, Long> actual = counts(latestById("exact-output"));
        assertThat(actual).isEqualTo(expected);
        assertThat(actual.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(3 * 1800);
        // windows from before the restore were not emitted again with another count
        beforeRestore.forEach((id, c) -> assertThat(actual.get(id)).as(id).isEqualTo(c));
        assertThat(CounterCollectingReporter.sum(AggregationPipeline.LATE_EVENTS_COUNTER)).isZero();
        assertThat(CounterCollectingReporter.sum(AggregationPipeline.MALFORMED_EVENTS_COUNTER)).isEqualTo(garbage);
        assertThat(CounterCollectingReporter.sum(AggregationPipeline.FUTURE_EVENTS_COUNTER)).isEqualTo(1);
        System.out.printf("exact counts: %d aggregates, %d events, %d before the restore (after %d of %d ticks); "
                + "late 0, malformed %d, future 1%n", actual.size(), 3 * 1800, beforeRestore.size(), ticksAtRestore,
                ticks, garbage);

        // the lag gauge the processing-lag alarm reads: millisBehindLatest, Flow=Input, Id=stream with "_"
        List<CounterCollectingReporter.RegisteredGauge> lag = CounterCollectingReporter.gauges(PacedPollingSource.LAG_METRIC);
        assertThat(lag).isNotEmpty();
        for (CounterCollectingReporter.RegisteredGauge g : lag) {
            assertThat(g.identifier).contains(".kinesisanalytics.Flow.Input.Id.exact_ingest.millisBehindLatest");
            assertThat(g.variables).containsEntry("<Flow>", "Input").containsEntry("<Id>", "exact_ingest");
            assertThat(((Number) g.gauge.getValue()).longValue()).isGreaterThanOrEqualTo(0);
        }
    }

    /** Most GetRecords calls on one shard within any 1 s, and the smallest gap between two calls. */
    private static long[] worstRate(Map<String, List<Long>> times) {
        long maxPerSecond = 0;
        long minGapNanos = Long.MAX_VALUE;
        for (List<Long> t : times.values()) {
            java.util.Collections.sort(t);
            int j = 0;
            for (int i = 0; i < t.size(); i++) {
                while (t.get(i) - t.get(j) >= 1_000_000_000L) {
                    j++;
                }
                maxPerSecond = Math.max(maxPerSecond, i - j + 1);
                if (i > 0) {
                    minGapNanos = Math.min(minGapNanos, t.get(i) - t.get(i - 1));
                }
            }
        }
        return new long[] {maxPerSecond, minGapNanos};
    }

    private static Map<String, List<Long>> measure(StreamExecutionEnvironment env, Duration span) throws Exception {
        JobClient job = env.executeAsync("rate");
        try {
            // start-up: the 4.3.0 enumerator assigns shards at its second discovery (10 s) when the
            // reader registered after the first one
            proxy.reset();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            while (proxy.getRecordsTimes().size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            Thread.sleep(1_000);
            proxy.reset();
            Thread.sleep(span.toMillis());
            return proxy.getRecordsTimes();
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * GetRecords requests per shard, seen by a proxy in front of moto, with records arriving: the
     * connector's stock KinesisStreamsSource (before) and the job's paced reader at 500 ms (after).
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void pollingReaderStaysWithinItsGetRecordsBudget() throws Exception {
        String inArn = createStream("rate-ingest", 2);
        String outArn = createStream("rate-output", 1);
        List<Shard> shards = kinesis.listShards(b -> b.streamName("rate-ingest")).shards();
        try (KinesisClient viaProxy = TestKinesis.client(proxy.endpoint(), REGION)) {
            assertThat(viaProxy.listShards(b -> b.streamARN(inArn)).shards()).as("the proxy passes requests through").hasSize(2);
        }
        Thread feeder = new Thread(() -> {
            long k = 0;
            while (!Thread.currentThread().isInterrupted()) {
                for (Shard s : shards) {
                    putOnShard("rate-ingest", s, List.of(event("c" + (k % 3), T0 + k * 100, "r" + k)));
                }
                k++;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        feeder.setDaemon(true);
        feeder.start();
        try {
            Properties p = config(inArn, outArn, proxy.endpoint());
            p.setProperty(PipelineConfig.INPUT_POLLING_INTERVAL_MS, "500");
            PipelineConfig cfg = PipelineConfig.fromProperties(p);

            // before: the connector's own reader, same configuration and client
            StreamExecutionEnvironment stock = StreamExecutionEnvironment.createLocalEnvironment(1, new Configuration());
            AggregatorJob.configureEnvironment(stock, Duration.ofSeconds(1));
            stock.fromSource(KinesisStreamsSource.<RawEvent>builder().setStreamArn(inArn)
                                    .setSourceConfig(KinesisIo.pollingSourceConfig(cfg))
                                    .setDeserializationSchema(new RawEventDeserializationSchema(cfg.maxFutureSkew())).build(),
                            org.apache.flink.api.common.eventtime.WatermarkStrategy.noWatermarks(), "stock",
                            TypeInformation.of(RawEvent.class))
                    .sinkTo(new DiscardingSink<>());
            Map<String, List<Long>> before = measure(stock, Duration.ofSeconds(5));

            // after: the job's reader, 500 ms per shard = at most 2 calls/s
            StreamExecutionEnvironment paced = StreamExecutionEnvironment.createLocalEnvironment(1, new Configuration());
            AggregatorJob.configureEnvironment(paced, Duration.ofSeconds(1));
            paced.fromSource(KinesisIo.pollingSource(cfg),
                            AggregationPipeline.watermarkStrategy(cfg.outOfOrderness(), cfg.idleness()), "paced",
                            TypeInformation.of(RawEvent.class))
                    .sinkTo(new DiscardingSink<>());
            Map<String, List<Long>> after = measure(paced, Duration.ofSeconds(5));

            long[] b = worstRate(before);
            long[] a = worstRate(after);
            Map<String, Integer> beforeCalls = new HashMap<>();
            before.forEach((k, v) -> beforeCalls.put(k, v.size()));
            Map<String, Integer> afterCalls = new HashMap<>();
            after.forEach((k, v) -> afterCalls.put(k, v.size()));
            System.out.printf("GetRecords per shard over 5 s: stock reader %s (worst %d calls in 1 s); "
                    + "paced reader (500 ms) %s (worst %d calls in 1 s, smallest gap %.0f ms)%n",
                    beforeCalls, b[0], afterCalls, a[0], a[1] / 1e6);
            assertThat(after).as("both shards polled; proxy saw %s", proxy.requests()).hasSize(2);
            assertThat(a[0]).as("GetRecords calls per shard in any second").isLessThanOrEqualTo(2);
            assertThat(a[1]).as("gap between two calls on one shard").isGreaterThanOrEqualTo(490_000_000L);
            assertThat(afterCalls.values()).allSatisfy(n -> assertThat(n).as("the pace is kept, not starved").isGreaterThanOrEqualTo(8));
            // the measurement can see a violation: the stock reader exceeds the 5 calls/s a shard has
            assertThat(b[0]).as("stock reader calls per shard in the worst second").isGreaterThan(5);
        } finally {
            feeder.interrupt();
            feeder.join(5_000);
        }
    }
}
