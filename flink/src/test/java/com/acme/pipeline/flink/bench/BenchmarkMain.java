package com.acme.pipeline.flink.bench;

import com.acme.pipeline.flink.AggregationPipeline;
import com.acme.pipeline.flink.AggregatorJob;
import com.acme.pipeline.flink.RawEventDeserializationSchema;
import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.MalformedEventException;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Throughput of the aggregation job on a MiniCluster (parallelism 2) over an in-memory dataset,
 * beside the same dataset parsed and counted by a plain Java loop (the ceiling).
 * Args: [events (default 5000000)] [runs (default 3)].
 */
public final class BenchmarkMain {
    private static final long T0 = Instant.parse("2024-05-01T00:00:00Z").toEpochMilli();
    static byte[][] data;
    static final LongAdder JOB_TOTAL = new LongAdder();
    /** Earliest open() of the job's parse operator in the current run (System.nanoTime). */
    static final java.util.concurrent.atomic.AtomicLong FIRST_OPEN = new java.util.concurrent.atomic.AtomicLong();
    /** events/s of the last job run counted from its first operator open (no cluster start-up). */
    static double lastRunning;

    private BenchmarkMain() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5_000_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        long g0 = System.nanoTime();
        data = new byte[n][];
        long bytes = 0;
        for (int i = 0; i < n; i++) {
            // 1000 customers, 1 event per ms of event time (in order), ~140 bytes per event
            String json = "{\"event_id\":\"evt-" + i + "\",\"customer_id\":\"cust-" + ((i * 7919L) % 1000)
                    + "\",\"event_type\":\"page_view\",\"timestamp\":\"" + Instant.ofEpochMilli(T0 + i)
                    + "\",\"payload\":{\"page\":\"/p/" + (i % 97) + "\",\"ms\":" + (i % 1000) + "}}";
            data[i] = json.getBytes(StandardCharsets.UTF_8);
            bytes += data[i].length;
        }
        System.out.printf("dataset: %d events, %.1f MB, generated in %.1f s%n", n, bytes / 1e6,
                (System.nanoTime() - g0) / 1e9);

        // warm-up (JIT), not reported
        plainLoop(Math.min(n, 1_000_000));
        flinkJob(Math.min(n, 1_000_000));

        double[] loop = new double[runs];
        double[] job = new double[runs];
        double[] running = new double[runs];
        for (int r = 0; r < runs; r++) {
            loop[r] = plainLoop(n);
            job[r] = flinkJob(n);
            running[r] = lastRunning;
            System.out.printf("run %d: job %,.0f events/s (from its tasks' start: %,.0f) | plain loop %,.0f events/s "
                    + "| ratio %.3f (%.3f)%n", r + 1, job[r], running[r], loop[r], job[r] / loop[r], running[r] / loop[r]);
        }
        double mj = median(job);
        double ml = median(loop);
        double mr = median(running);
        System.out.printf("MEDIAN of %d runs: job (MiniCluster, parallelism 2) %,.0f events/s | "
                + "plain Java loop (1 thread) %,.0f events/s | ratio job/loop %.3f%n", runs, mj, ml, mj / ml);
        // the same runs timed from the first open() of the job's parse operator: without the
        // MiniCluster's start-up, job submission and task deployment, which the loop does not have
        System.out.printf("MEDIAN from the job's tasks' start (no cluster start-up / deployment): %,.0f events/s | "
                + "ratio %.3f%n", mr, mr / ml);
        // added figure (does not change the two above): the job's fixed cost, i.e. the wall time of
        // the same job over one event (MiniCluster start, submission, deployment, teardown)
        double[] fixed = new double[runs];
        for (int r = 0; r < runs; r++) {
            fixed[r] = 1 / flinkJob(1);
        }
        System.out.printf("MEDIAN fixed cost (the same job over 1 event): %.2f s | the job over %d events: %.2f s, "
                + "the loop: %.2f s%n", median(fixed), n, n / mj, n / ml);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Parse every record and count per (customer, 5-minute window) in a HashMap. */
    static double plainLoop(int n) throws MalformedEventException {
        long t0 = System.nanoTime();
        long window = Duration.ofMinutes(5).toMillis();
        Map<String, Map<Long, long[]>> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            RawEvent e = EventJson.parse(data[i]);
            long ws = e.eventTime - Math.floorMod(e.eventTime, window);
            counts.computeIfAbsent(e.customerId, k -> new HashMap<>()).computeIfAbsent(ws, k -> new long[1])[0]++;
        }
        long total = counts.values().stream().flatMap(m -> m.values().stream()).mapToLong(a -> a[0]).sum();
        double secs = (System.nanoTime() - t0) / 1e9;
        if (total != n) {
            throw new IllegalStateException("loop counted " + total + " of " + n);
        }
        return n / secs;
    }

    /** The job's parse -> watermarks -> keyBy -> window count, with the production checkpoint settings. */
    static double flinkJob(int n) throws Exception {
        JOB_TOTAL.reset();
        FIRST_OPEN.set(Long.MAX_VALUE);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
        AggregatorJob.configureEnvironment(env, AggregatorJob.CHECKPOINT_INTERVAL);
        // fails the job if any type on its path would fall back to Kryo (all are POJOs / primitives)
        env.getConfig().disableGenericTypes();
        DataGeneratorSource<byte[]> source = new DataGeneratorSource<>(i -> data[(int) (long) i], n,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        AggregationPipeline.Outputs out = AggregationPipeline.build(
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "dataset")
                        .map(new Parse()).returns(RawEvent.class)
                        .assignTimestampsAndWatermarks(
                                AggregationPipeline.watermarkStrategy(Duration.ofSeconds(30), Duration.ofSeconds(60))),
                new AggregationPipeline.Settings(Duration.ofMinutes(5), Duration.ZERO));
        out.aggregates.map(BenchmarkMain::addToTotal).sinkTo(new DiscardingSink<>());
        long t0 = System.nanoTime();
        env.execute("benchmark");
        long end = System.nanoTime();
        double secs = (end - t0) / 1e9;
        lastRunning = n / ((end - FIRST_OPEN.get()) / 1e9);
        if (JOB_TOTAL.sum() != n) {
            throw new IllegalStateException("job counted " + JOB_TOTAL.sum() + " of " + n);
        }
        return n / secs;
    }

    /** The job's parse step; records when the first subtask opened. */
    static final class Parse extends org.apache.flink.api.common.functions.RichMapFunction<byte[], RawEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            FIRST_OPEN.accumulateAndGet(System.nanoTime(), Math::min);
        }

        @Override
        public RawEvent map(byte[] value) {
            return RawEventDeserializationSchema.parse(value);
        }
    }

    private static Long addToTotal(CustomerWindowCount c) {
        JOB_TOTAL.add(c.count);
        return c.count;
    }
}
