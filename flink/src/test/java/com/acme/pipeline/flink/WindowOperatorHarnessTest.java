package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkOutputMultiplexer;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.clock.ManualClock;
import org.apache.flink.util.clock.RelativeClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The job's window operator (as built by {@link AggregationPipeline}) in Flink's operator test harness. */
class WindowOperatorHarnessTest {
    private static final long T0 = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();
    private static final long MIN = 60_000;
    private KeyedOneInputStreamOperatorTestHarness<String, RawEvent, CustomerWindowCount> harness;

    @SuppressWarnings("unchecked")
    private KeyedOneInputStreamOperatorTestHarness<String, RawEvent, CustomerWindowCount> open(
            Duration window, Duration lateness) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DataStream<RawEvent> in = env.fromData(TypeInformation.of(RawEvent.class), new RawEvent("x", 0));
        AggregationPipeline.Outputs out = AggregationPipeline.build(in, new AggregationPipeline.Settings(window, lateness));
        OneInputStreamOperator<RawEvent, CustomerWindowCount> op =
                ((OneInputTransformation<RawEvent, CustomerWindowCount>) out.aggregates.getTransformation()).getOperator();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(op, new AggregationPipeline.CustomerKey(), Types.STRING);
        harness.open();
        return harness;
    }

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    private void event(String customer, long ts) throws Exception {
        harness.processElement(new StreamRecord<>(new RawEvent(customer, ts), ts));
    }

    private List<CustomerWindowCount> output() {
        return new ArrayList<>(harness.extractOutputValues());
    }

    private List<RawEvent> late() {
        return harness.getSideOutput(AggregationPipeline.LATE_EVENTS) == null ? List.of()
                : harness.getSideOutput(AggregationPipeline.LATE_EVENTS).stream()
                        .map(StreamRecord::getValue).collect(Collectors.toList());
    }

    @Test
    void onTimeEventsCountedPerCustomerAndWindow() throws Exception {
        open(Duration.ofMinutes(5), Duration.ZERO);
        event("c1", T0);
        event("c1", T0 + 4 * MIN + 59_999);
        event("c2", T0 + MIN);
        event("c1", T0 + 5 * MIN); // next window
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + 5 * MIN - 2));
        assertThat(output()).as("window not complete yet").isEmpty();
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + 5 * MIN - 1));
        assertThat(output()).containsExactlyInAnyOrder(
                new CustomerWindowCount("c1", T0, T0 + 5 * MIN, 2),
                new CustomerWindowCount("c2", T0, T0 + 5 * MIN, 1));
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + 10 * MIN));
        assertThat(output()).hasSize(3).contains(new CustomerWindowCount("c1", T0 + 5 * MIN, T0 + 10 * MIN, 1));
        assertThat(late()).isEmpty();
    }

    @Test
    void outOfOrderEventsBeforeWatermarkAreCounted() throws Exception {
        open(Duration.ofMinutes(1), Duration.ZERO);
        event("c1", T0 + 50_000);
        event("c1", T0 + 70_000); // window 2
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + 40_000));
        event("c1", T0 + 45_000); // out of order, but not late
        event("c1", T0 + 10_000); // out of order, but not late
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + 2 * MIN));
        assertThat(output()).containsExactlyInAnyOrder(
                new CustomerWindowCount("c1", T0, T0 + MIN, 3),
                new CustomerWindowCount("c1", T0 + MIN, T0 + 2 * MIN, 1));
        assertThat(late()).isEmpty();
    }

    @Test
    void lateEventsGoToSideOutputNotIntoCounts() throws Exception {
        open(Duration.ofMinutes(1), Duration.ZERO);
        event("c1", T0 + 1_000);
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + MIN));
        event("c1", T0 + 2_000); // window [T0, T0+1min) already fired and purged
        event("c2", T0 + 59_999);
        event("c2", T0 + MIN + 1); // on time
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + 2 * MIN));
        assertThat(output()).containsExactlyInAnyOrder(
                new CustomerWindowCount("c1", T0, T0 + MIN, 1),
                new CustomerWindowCount("c2", T0 + MIN, T0 + 2 * MIN, 1));
        assertThat(late()).containsExactly(new RawEvent("c1", T0 + 2_000), new RawEvent("c2", T0 + 59_999));
    }

    @Test
    void allowedLatenessRefiresWithUpdatedCountThenSideOutputs() throws Exception {
        open(Duration.ofMinutes(1), Duration.ofSeconds(30));
        event("c1", T0 + 1_000);
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + MIN));
        event("c1", T0 + 2_000); // late but within allowed lateness: window fires again
        harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(T0 + MIN + 30_000));
        event("c1", T0 + 3_000); // beyond allowed lateness
        assertThat(output()).containsExactly(
                new CustomerWindowCount("c1", T0, T0 + MIN, 1),
                new CustomerWindowCount("c1", T0, T0 + MIN, 2));
        assertThat(late()).containsExactly(new RawEvent("c1", T0 + 3_000));
        // the re-fire keeps the aggregate id and carries a higher version, so a consumer keeps it
        List<java.util.Map<String, Object>> records = new ArrayList<>();
        for (CustomerWindowCount c : output()) {
            records.add(SimpleJson.parseFlat(new String(com.acme.pipeline.flink.model.EventJson.aggregateToJson(c),
                    java.nio.charset.StandardCharsets.UTF_8)));
        }
        assertThat(records).extracting(m -> m.get("aggregate_id"))
                .containsExactly("c1#2024-05-01T12:00:00Z", "c1#2024-05-01T12:00:00Z");
        assertThat(records).extracting(m -> m.get("version")).containsExactly(1L, 2L);
    }

    /**
     * Two shards, one goes quiet: with the job's watermark strategy the quiet shard is marked idle
     * after the idleness timeout, the combined watermark follows the active shard and the window
     * fires. Before the timeout it must not fire.
     */
    @Test
    void idleShardDoesNotHoldBackWindows() throws Exception {
        open(Duration.ofMinutes(1), Duration.ZERO);
        ManualClock clock = new ManualClock(1_000_000);
        WatermarkStrategy<RawEvent> strategy =
                AggregationPipeline.watermarkStrategy(Duration.ofSeconds(5), Duration.ofSeconds(10));
        WatermarkGeneratorSupplier.Context ctx = new WatermarkGeneratorSupplier.Context() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup();
            }

            @Override
            public RelativeClock getInputActivityClock() {
                return clock;
            }
        };
        List<Long> combined = new ArrayList<>();
        WatermarkOutputMultiplexer mux = new WatermarkOutputMultiplexer(new WatermarkOutput() {
            @Override
            public void emitWatermark(Watermark w) {
                combined.add(w.getTimestamp());
            }

            @Override
            public void markIdle() {}

            @Override
            public void markActive() {}
        });
        mux.registerNewOutput("shard-a", w -> {});
        mux.registerNewOutput("shard-b", w -> {});
        WatermarkGenerator<RawEvent> a = strategy.createWatermarkGenerator(ctx);
        WatermarkGenerator<RawEvent> b = strategy.createWatermarkGenerator(ctx);
        WatermarkOutput outA = mux.getDeferredOutput("shard-a");
        WatermarkOutput outB = mux.getDeferredOutput("shard-b");

        RawEvent b1 = new RawEvent("c2", T0 + 1_000);
        b.onEvent(b1, b1.eventTime, outB);
        event("c2", b1.eventTime);
        for (long t = T0; t <= T0 + 3 * MIN; t += 10_000) { // shard A keeps going, B says nothing more
            RawEvent e = new RawEvent("c1", t);
            a.onEvent(e, t, outA);
            event("c1", t);
            clock.advanceTime(Duration.ofSeconds(1));
            a.onPeriodicEmit(outA);
            b.onPeriodicEmit(outB);
            mux.onPeriodicEmit();
            if (!combined.isEmpty()) {
                harness.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(
                        combined.get(combined.size() - 1)));
            }
            if (t < T0 + 9_000) {
                assertThat(output()).as("nothing may fire while shard B is merely slow").isEmpty();
            }
        }
        // 19 s of wall time passed: B is idle, the watermark follows A: T0 + 3min - 5s - 1ms
        assertThat(combined).isNotEmpty();
        assertThat(combined.get(combined.size() - 1)).isEqualTo(T0 + 3 * MIN - 5_000 - 1);
        assertThat(output()).containsExactlyInAnyOrder(
                new CustomerWindowCount("c1", T0, T0 + MIN, 6),
                new CustomerWindowCount("c2", T0, T0 + MIN, 1),
                new CustomerWindowCount("c1", T0 + MIN, T0 + 2 * MIN, 6));
    }

    @Test
    void watermarkStrategyIgnoresMalformedMarkers() {
        WatermarkStrategy<RawEvent> strategy =
                AggregationPipeline.watermarkStrategy(Duration.ofSeconds(5), Duration.ofSeconds(10));
        RawEvent bad = RawEvent.malformed("x");
        long ts = strategy.createTimestampAssigner(() -> null).extractTimestamp(bad, 123L);
        assertThat(ts).isEqualTo(Long.MIN_VALUE);
        RawEvent ok = new RawEvent("c1", T0);
        assertThat(strategy.createTimestampAssigner(() -> null).extractTimestamp(ok, 123L)).isEqualTo(T0);
    }
}
