package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.watermark.ShardWatermarkGenerator;
import com.acme.pipeline.flink.watermark.EfoShardWatermarks;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.util.clock.ManualClock;
import org.apache.flink.util.clock.RelativeClock;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Per-shard watermark rules shared by both readers: only usable events (well-formed, not from the
 * future) move a shard's watermark or keep it active; the EFO reader's operator combines its shards
 * like the FLIP-27 source combines splits.
 */
class ShardWatermarksTest {
    private static final long T0 = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();

    /** Records what a generator emits. */
    static final class Recorder implements WatermarkOutput {
        final List<Long> watermarks = new ArrayList<>();
        boolean idle;

        @Override
        public void emitWatermark(Watermark w) {
            watermarks.add(w.getTimestamp());
            idle = false;
        }

        @Override
        public void markIdle() {
            idle = true;
        }

        @Override
        public void markActive() {
            idle = false;
        }

        Long last() {
            return watermarks.isEmpty() ? null : watermarks.get(watermarks.size() - 1);
        }
    }

    private static WatermarkGenerator<RawEvent> generator(ManualClock clock) {
        WatermarkStrategy<RawEvent> s = AggregationPipeline.watermarkStrategy(Duration.ofSeconds(5), Duration.ofSeconds(10));
        return s.createWatermarkGenerator(new WatermarkGeneratorSupplier.Context() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup();
            }

            @Override
            public RelativeClock getInputActivityClock() {
                return clock;
            }
        });
    }

    @Test
    void shardOfGarbageGoesIdleAndNeverEmitsAWatermark() {
        ManualClock clock = new ManualClock(1_000_000_000L);
        WatermarkGenerator<RawEvent> g = generator(clock);
        Recorder out = new Recorder();
        for (int i = 0; i < 30; i++) { // a malformed record every second: not activity
            g.onEvent(RawEvent.malformed("garbage " + i), Long.MIN_VALUE, out);
            clock.advanceTime(Duration.ofSeconds(1));
            g.onPeriodicEmit(out);
            if (i < 9) {
                assertThat(out.idle).as("not idle before the timeout (second %d)", i).isFalse();
            }
        }
        assertThat(out.idle).as("idle after 10 s without a usable event").isTrue();
        assertThat(out.watermarks).isEmpty();
    }

    /**
     * A generator that never gets a record (the source operator's main output, or a shard not read
     * yet) stays active for the timeout plus the grace, so a source subtask whose shards are assigned
     * late is not idle when they arrive; one record (even malformed) brings back the plain timeout.
     */
    @Test
    void generatorWithoutAnyRecordGoesIdleOnlyAfterTheGrace() {
        long graceSeconds = ShardWatermarkGenerator.UNREAD_GRACE.getSeconds();
        ManualClock clock = new ManualClock(1_000_000_000L);
        WatermarkGenerator<RawEvent> unread = generator(clock);
        Recorder out = new Recorder();
        for (long s = 1; s < 10 + graceSeconds; s++) {
            clock.advanceTime(Duration.ofSeconds(1));
            unread.onPeriodicEmit(out);
            assertThat(out.idle).as("not idle after %d s without any record", s).isFalse();
        }
        clock.advanceTime(Duration.ofSeconds(1));
        unread.onPeriodicEmit(out);
        assertThat(out.idle).as("idle after 10 s + the grace").isTrue();
        assertThat(out.watermarks).isEmpty();

        ManualClock clock2 = new ManualClock(1_000_000_000L);
        WatermarkGenerator<RawEvent> read = generator(clock2);
        Recorder out2 = new Recorder();
        read.onEvent(RawEvent.malformed("garbage"), Long.MIN_VALUE, out2);
        clock2.advanceTime(Duration.ofSeconds(10));
        read.onPeriodicEmit(out2);
        assertThat(out2.idle).as("a shard that delivered records: the plain 10 s").isTrue();
    }

    /**
     * Idleness is measured at the periodic emits (the clock is not read per event): a shard goes idle
     * between the timeout and the timeout plus one emit interval after its last usable event, never
     * before.
     */
    @Test
    void shardGoesIdleNoEarlierThanTheTimeoutAfterItsLastUsableEvent() {
        long intervalMs = 200;
        for (long offsetMs : new long[] {0, 1, 99, 199}) {
            ManualClock clock = new ManualClock(1_000_000_000L);
            WatermarkGenerator<RawEvent> g = generator(clock);
            Recorder out = new Recorder();
            g.onPeriodicEmit(out);
            clock.advanceTime(Duration.ofMillis(offsetMs));
            g.onEvent(new RawEvent("c1", T0), T0, out);
            long sinceEvent = 0;
            clock.advanceTime(Duration.ofMillis(intervalMs - offsetMs));
            sinceEvent += intervalMs - offsetMs;
            while (true) {
                g.onPeriodicEmit(out);
                if (out.idle) {
                    break;
                }
                clock.advanceTime(Duration.ofMillis(intervalMs));
                sinceEvent += intervalMs;
            }
            assertThat(sinceEvent).as("idle %d ms after the last usable event (event %d ms after an emit)", sinceEvent, offsetMs)
                    .isBetween(10_000L, 10_000L + intervalMs);
        }
    }

    @Test
    void farFutureEventNeverMovesTheWatermarkNorKeepsTheShardActive() {
        ManualClock clock = new ManualClock(1_000_000_000L);
        WatermarkGenerator<RawEvent> g = generator(clock);
        Recorder out = new Recorder();
        g.onEvent(new RawEvent("c1", T0), T0, out);
        g.onPeriodicEmit(out);
        assertThat(out.last()).isEqualTo(T0 - 5_000 - 1);
        RawEvent future = RawEventDeserializationSchema.parse(
                "{\"customer_id\":\"c1\",\"timestamp\":\"2999-01-01T00:00:00Z\"}".getBytes(StandardCharsets.UTF_8),
                T0 + 60_000);
        assertThat(future.future).isTrue();
        assertThat(future.isUsable()).isFalse();
        g.onEvent(future, future.eventTime, out);
        g.onPeriodicEmit(out);
        assertThat(out.last()).as("the future event did not move the watermark").isEqualTo(T0 - 5_000 - 1);
        g.onEvent(new RawEvent("c1", T0 + 1_000), T0 + 1_000, out); // later events of the shard: on time
        g.onPeriodicEmit(out);
        assertThat(out.last()).isEqualTo(T0 + 1_000 - 5_000 - 1);
        clock.advanceTime(Duration.ofSeconds(9));
        g.onEvent(future, future.eventTime, out);
        clock.advanceTime(Duration.ofSeconds(2));
        g.onPeriodicEmit(out);
        assertThat(out.idle).as("future events are no activity: idle 11 s after the last usable one").isTrue();
    }

    @Test
    void deserializerBoundsEventTimeBySkewAheadOfWallClock() {
        RawEventDeserializationSchema schema = new RawEventDeserializationSchema(Duration.ofMinutes(5));
        String soon = Instant.ofEpochMilli(System.currentTimeMillis() + 60_000).toString();
        String far = Instant.ofEpochMilli(System.currentTimeMillis() + 3_600_000).toString();
        RawEvent ok = schema.deserialize(("{\"customer_id\":\"c1\",\"timestamp\":\"" + soon + "\"}").getBytes(StandardCharsets.UTF_8));
        RawEvent bad = schema.deserialize(("{\"customer_id\":\"c1\",\"timestamp\":\"" + far + "\"}").getBytes(StandardCharsets.UTF_8));
        assertThat(ok.isUsable()).isTrue();
        assertThat(bad.future).isTrue();
        assertThat(bad.customerId).isEqualTo("c1");
        assertThat(bad.malformed).contains("is after the latest allowed");
    }

    private static RawEvent onShard(String shard, String customer, long ts) {
        RawEvent e = new RawEvent(customer, ts);
        e.shardId = shard;
        return e;
    }

    private static RawEvent garbageOnShard(String shard) {
        RawEvent e = RawEvent.malformed("garbage");
        e.shardId = shard;
        return e;
    }

    private static List<Long> watermarks(OneInputStreamOperatorTestHarness<RawEvent, RawEvent> h) {
        return h.getOutput().stream()
                .filter(o -> o instanceof org.apache.flink.streaming.api.watermark.Watermark)
                .map(o -> ((org.apache.flink.streaming.api.watermark.Watermark) o).getTimestamp())
                .collect(Collectors.toList());
    }

    /**
     * EFO reader: shard A is 10 minutes behind shard B, shard C carries only garbage. The combined
     * watermark follows the slowest shard with usable events (A), C goes idle, nothing is emitted in
     * the start-up hold, records keep their event time and lose the shard id.
     */
    @Test
    void efoOperatorCombinesShardsLikeSplits() throws Exception {
        EfoShardWatermarks op = new EfoShardWatermarks(Duration.ZERO, Duration.ofSeconds(10));
        try (OneInputStreamOperatorTestHarness<RawEvent, RawEvent> h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.getExecutionConfig().setAutoWatermarkInterval(200);
            h.setProcessingTime(0);
            h.open();
            long behind = 10 * 60_000;
            for (int s = 0; s < 30; s++) {
                h.processElement(onShard("shard-B", "c1", T0 + s * 1000L), 0);
                h.processElement(onShard("shard-A", "c2", T0 - behind + s * 1000L), 0);
                h.processElement(garbageOnShard("shard-C"), 0);
                h.setProcessingTime((s + 1) * 1000L);
                if (s < 9) {
                    assertThat(watermarks(h)).as("start-up hold (second %d)", s).isEmpty();
                }
            }
            // C's garbage kept coming: it is no activity, C was idle after 10 s and does not hold back
            assertThat(watermarks(h)).isNotEmpty();
            assertThat(watermarks(h)).allSatisfy(w -> assertThat(w).isLessThanOrEqualTo(T0 - behind + 29_000));
            assertThat(watermarks(h).get(watermarks(h).size() - 1)).isEqualTo(T0 - behind + 29_000 - 1);
            List<RawEvent> values = h.extractOutputValues();
            assertThat(values).allSatisfy(e -> assertThat(e.shardId).isNull());
            assertThat(h.extractOutputStreamRecords().stream()
                    .filter(r -> r.getValue().isUsable())
                    .allMatch(r -> r.getTimestamp() == r.getValue().eventTime)).isTrue();

            // A and B stop: after the idleness timeout every shard is idle, and so is the output
            h.setProcessingTime(31_000 + 11_000);
            assertThat(h.getOutput().stream().filter(o -> o instanceof WatermarkStatus)
                    .reduce((a, b) -> b)).contains(WatermarkStatus.IDLE);
        }
    }
}
