package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exactly-once: a failure is injected after checkpoints completed; the job restarts from the last
 * checkpoint (window state and source position restored) and writes through a two-phase-commit
 * sink (FileSink). The committed output must hold every customer/window exactly once, exact counts.
 */
class FailureRestoreTest {
    private static final long T0 = Instant.parse("2024-05-01T00:00:00Z").toEpochMilli();
    private static final int EVENTS = 12_000;
    private static final int CUSTOMERS = 10;
    private static final long STEP_MS = 10; // 12 000 events over 120 s of event time: two 1-minute windows

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    static final AtomicBoolean FAILED = new AtomicBoolean();
    static final AtomicInteger COMPLETED_CHECKPOINTS = new AtomicInteger();
    static final AtomicInteger OPENS = new AtomicInteger();

    static byte[] eventFor(long i) {
        long ts = T0 + i * STEP_MS;
        return ("{\"event_id\":\"e" + i + "\",\"customer_id\":\"c" + (i % CUSTOMERS) + "\",\"event_type\":\"t\","
                + "\"timestamp\":\"" + Instant.ofEpochMilli(ts) + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    /** Throws once, on subtask 0, after at least two checkpoints completed. */
    static class FailOnceAfterCheckpoint extends RichMapFunction<RawEvent, RawEvent> implements CheckpointListener {
        private static final long serialVersionUID = 1L;
        private long seen;

        @Override
        public void open(OpenContext ctx) {
            OPENS.incrementAndGet();
        }

        @Override
        public RawEvent map(RawEvent e) {
            seen++;
            if (COMPLETED_CHECKPOINTS.get() >= 2 && seen > 200
                    && getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0
                    && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure after a completed checkpoint");
            }
            return e;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            COMPLETED_CHECKPOINTS.incrementAndGet();
        }
    }

    @Test
    void countsStayExactAcrossFailureAndRestore(@TempDir java.nio.file.Path out) throws Exception {
        FAILED.set(false);
        COMPLETED_CHECKPOINTS.set(0);
        OPENS.set(0);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        AggregatorJob.configureEnvironment(env, Duration.ofMillis(200));

        DataGeneratorSource<byte[]> source = new DataGeneratorSource<>(FailureRestoreTest::eventFor, EVENTS,
                RateLimiterStrategy.perSecond(3_000), PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        DataStream<RawEvent> events = env
                .fromSource(source, WatermarkStrategy.noWatermarks(), "generator")
                .map(RawEventDeserializationSchema::parse).returns(RawEvent.class)
                .map(new FailOnceAfterCheckpoint())
                .assignTimestampsAndWatermarks(
                        AggregationPipeline.watermarkStrategy(Duration.ZERO, Duration.ofSeconds(30)));
        AggregationPipeline.Outputs result = AggregationPipeline.build(events,
                new AggregationPipeline.Settings(Duration.ofMinutes(1), Duration.ZERO));
        result.aggregates
                .map(c -> new String(EventJson.aggregateToJson(c), StandardCharsets.UTF_8)).returns(Types.STRING)
                .sinkTo(FileSink.forRowFormat(new Path(out.toUri()), new SimpleStringEncoder<String>("UTF-8"))
                        .withRollingPolicy(OnCheckpointRollingPolicy.build())
                        .build());
        env.execute("failure-restore");

        assertThat(FAILED).as("the failure was injected").isTrue();
        assertThat(OPENS.get()).as("tasks were restarted after the failure").isGreaterThan(2);

        List<String> lines;
        try (Stream<java.nio.file.Path> files = Files.walk(out)) {
            lines = files.filter(Files::isRegularFile)
                    .filter(f -> !f.getFileName().toString().startsWith(".")) // uncommitted parts are hidden
                    .flatMap(f -> {
                        try {
                            return Files.readAllLines(f, StandardCharsets.UTF_8).stream();
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    })
                    .collect(Collectors.toList());
        }
        Map<String, Long> actual = new HashMap<>();
        for (String line : lines) {
            Map<String, Object> m = SimpleJson.parseFlat(line);
            String key = m.get("customer_id") + "@" + m.get("window_start");
            assertThat(actual.put(key, (Long) m.get("count"))).as("duplicate output for " + key).isNull();
        }
        Map<String, Long> expected = new HashMap<>();
        for (int c = 0; c < CUSTOMERS; c++) {
            expected.put("c" + c + "@2024-05-01T00:00:00Z", 600L);
            expected.put("c" + c + "@2024-05-01T00:01:00Z", 600L);
        }
        assertThat(actual).isEqualTo(expected);
    }
}
