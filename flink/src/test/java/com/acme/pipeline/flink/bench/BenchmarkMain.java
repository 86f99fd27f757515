package com.acme.pipeline.flink.bench;

import com.acme.pipeline.flink.AggregationPipeline;
import com.acme.pipeline.flink.AggregatorJob;
import com.acme.pipeline.flink.RawEventDeserializationSchema;
import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.MalformedEventException;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.util.Reference;

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
    /** Earliest open() of the job's source reader in the current run (System.nanoTime). */
    static final java.util.concurrent.atomic.AtomicLong FIRST_OPEN = new java.util.concurrent.atomic.AtomicLong();
    /** events/s of the last job run counted from its first source reader's open() (no cluster start-up). */
    static double lastRunning;
    /** Task slots of the MiniCluster and the job's parallelism. */
    static final int PARALLELISM = 2;
    /** Flink's RPC system, loaded once (see {@link #flinkJob}). */
    private static RpcSystem rpcSystem;

    private BenchmarkMain() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5_000_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        generate(n);

        // warm-up (JIT), not reported
        plainLoop(Math.min(n, 1_000_000));
        flinkJob(Math.min(n, 1_000_000), false);
        flinkJob(Math.min(n, 1_000_000), true);

        double[] loop = new double[runs];
        double[] job = new double[runs];
        double[] running = new double[runs];
        double[] ownRpc = new double[runs];
        try {
            for (int r = 0; r < runs; r++) {
                loop[r] = plainLoop(n);
                job[r] = flinkJob(n, false);
                running[r] = lastRunning;
                ownRpc[r] = flinkJob(n, true);
                System.out.printf("run %d: job %,.0f events/s (from its tasks' start: %,.0f; with env.execute(): %,.0f) "
                        + "| plain loop %,.0f events/s | ratio %.3f (%.3f; %.3f)%n", r + 1, job[r], running[r], ownRpc[r],
                        loop[r], job[r] / loop[r], running[r] / loop[r], ownRpc[r] / loop[r]);
            }
            double mj = median(job);
            double ml = median(loop);
            double mr = median(running);
            double mo = median(ownRpc);
            System.out.printf("MEDIAN of %d runs: job (MiniCluster, parallelism %d, started and closed in the timing) "
                    + "%,.0f events/s | plain Java loop (1 thread) %,.0f events/s | ratio job/loop %.3f%n",
                    runs, PARALLELISM, mj, ml, mj / ml);
            // the same runs timed from the first open() of the job's source reader: without the
            // MiniCluster's start-up, job submission and task deployment, which the loop does not have
            System.out.printf("MEDIAN from the job's tasks' start (no cluster start-up / deployment): %,.0f events/s | "
                    + "ratio %.3f%n", mr, mr / ml);
            // the figure as measured up to 2026-12-02: env.execute(), whose MiniCluster also loads
            // Flink's RPC system (Pekko) from the classpath again for every run
            System.out.printf("MEDIAN with env.execute() (its MiniCluster loads the RPC system anew): %,.0f events/s | "
                    + "ratio %.3f%n", mo, mo / ml);
            // the job's fixed cost: the wall time of the same job over one event (MiniCluster start,
            // submission, deployment, teardown)
            double[] fixed = new double[runs];
            double[] fixedOwnRpc = new double[runs];
            for (int r = 0; r < runs; r++) {
                fixed[r] = 1 / flinkJob(1, false);
                fixedOwnRpc[r] = 1 / flinkJob(1, true);
            }
            System.out.printf("MEDIAN fixed cost (the same job over 1 event): %.2f s (with env.execute(): %.2f s) | "
                    + "the job over %d events: %.2f s, the loop: %.2f s%n", median(fixed), median(fixedOwnRpc), n,
                    n / mj, n / ml);
        } finally {
            closeRpcSystem();
        }
    }

    /** The dataset: 1000 customers, 1 event per ms of event time (in order), ~140 bytes per event. */
    static void generate(int n) {
        long g0 = System.nanoTime();
        data = new byte[n][];
        long bytes = 0;
        for (int i = 0; i < n; i++) {
            String json = "{\"event_id\":\"evt-" + i + "\",\"customer_id\":\"cust-" + ((i * 7919L) % 1000)
                    + "\",\"event_type\":\"page_view\",\"timestamp\":\"" + Instant.ofEpochMilli(T0 + i)
                    + "\",\"payload\":{\"page\":\"/p/" + (i % 97) + "\",\"ms\":" + (i % 1000) + "}}";
            data[i] = json.getBytes(StandardCharsets.UTF_8);
            bytes += data[i].length;
        }
        System.out.printf("dataset: %d events, %.1f MB, generated in %.1f s%n", n, bytes / 1e6,
                (System.nanoTime() - g0) / 1e9);
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

    /**
     * The job's source (parsing each record, as the Kinesis readers' deserializers do) -> watermarks
     * -> the aggregation, with the production checkpoint settings. {@code ownRpcSystem}: run it as
     * {@code env.execute()} on a local environment does, whose MiniCluster loads Flink's RPC system
     * afresh (extracts the Pekko jar from the classpath into a temporary file and loads its classes
     * in a new class loader, about 0.5 s of each start-up); otherwise on a MiniCluster of the same
     * configuration, also started and closed inside the timing, that borrows the RPC system the
     * benchmark loaded once.
     */
    static double flinkJob(int n, boolean ownRpcSystem) throws Exception {
        JOB_TOTAL.reset();
        FIRST_OPEN.set(Long.MAX_VALUE);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(PARALLELISM, new Configuration());
        AggregatorJob.configureEnvironment(env, AggregatorJob.CHECKPOINT_INTERVAL);
        // fails the job if any type on its path would fall back to Kryo (all are POJOs / primitives)
        env.getConfig().disableGenericTypes();
        DataGeneratorSource<RawEvent> source = new DataGeneratorSource<>(new ParseRecord(), n,
                TypeInformation.of(RawEvent.class));
        AggregationPipeline.Outputs out = AggregationPipeline.build(
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "dataset")
                        .assignTimestampsAndWatermarks(
                                AggregationPipeline.watermarkStrategy(Duration.ofSeconds(30), Duration.ofSeconds(60))),
                new AggregationPipeline.Settings(Duration.ofMinutes(5), Duration.ZERO));
        out.aggregates.map(BenchmarkMain::addToTotal).sinkTo(new DiscardingSink<>());
        long t0 = System.nanoTime();
        if (ownRpcSystem) {
            env.execute("benchmark");
        } else {
            StreamGraph graph = env.getStreamGraph();
            graph.setJobName("benchmark");
            JobGraph job = graph.getJobGraph();
            MiniClusterConfiguration cluster = new MiniClusterConfiguration.Builder()
                    .setConfiguration(new Configuration())
                    .setNumTaskManagers(1)
                    .setNumSlotsPerTaskManager(PARALLELISM)
                    .build();
            try (MiniCluster miniCluster = new MiniCluster(cluster, () -> Reference.borrowed(rpcSystem()))) {
                miniCluster.start();
                miniCluster.executeJobBlocking(job);
            }
        }
        long end = System.nanoTime();
        double secs = (end - t0) / 1e9;
        lastRunning = n / ((end - FIRST_OPEN.get()) / 1e9);
        if (JOB_TOTAL.sum() != n) {
            throw new IllegalStateException("job counted " + JOB_TOTAL.sum() + " of " + n);
        }
        return n / secs;
    }

    /** Closes the RPC system loaded by {@link #flinkJob} (deletes its extracted jar), if any. */
    static synchronized void closeRpcSystem() throws Exception {
        if (rpcSystem != null) {
            rpcSystem.close();
            rpcSystem = null;
        }
    }

    private static synchronized RpcSystem rpcSystem() {
        if (rpcSystem == null) {
            rpcSystem = RpcSystem.load();
        }
        return rpcSystem;
    }

    /**
     * The dataset's i-th record parsed by the job's deserializer, in the source reader (where the
     * Kinesis readers parse); records when the first reader opened.
     */
    static final class ParseRecord implements GeneratorFunction<Long, RawEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public void open(SourceReaderContext ctx) {
            FIRST_OPEN.accumulateAndGet(System.nanoTime(), Math::min);
        }

        @Override
        public RawEvent map(Long i) {
            return RawEventDeserializationSchema.parse(data[(int) (long) i]);
        }
    }

    private static Long addToTotal(CustomerWindowCount c) {
        JOB_TOTAL.add(c.count);
        return c.count;
    }
}
