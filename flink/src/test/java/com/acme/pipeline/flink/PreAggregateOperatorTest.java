package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link PreAggregateOperator} in Flink's operator test harness: what it folds, what it passes on, and when it emits. */
class PreAggregateOperatorTest {
    private static final long T0 = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();
    private static final long MIN = 60_000;
    private OneInputStreamOperatorTestHarness<RawEvent, RawEvent> harness;

    private void open() throws Exception {
        harness = new OneInputStreamOperatorTestHarness<>(new PreAggregateOperator(5 * MIN));
        harness.open();
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

    private static RawEvent partial(String customer, long ts, long count) {
        RawEvent e = new RawEvent(customer, ts);
        e.count = count;
        return e;
    }

    /** Output as strings in order: records "customer@ts xN", watermarks "W<ts>", statuses. */
    private List<String> output() {
        List<String> s = new ArrayList<>();
        for (Object o : harness.getOutput()) {
            if (o instanceof StreamRecord) {
                @SuppressWarnings("unchecked")
                StreamRecord<RawEvent> r = (StreamRecord<RawEvent>) o;
                RawEvent e = r.getValue();
                assertThat(r.getTimestamp()).isEqualTo(e.eventTime);
                s.add(e.customerId + "@" + (e.eventTime - T0) + " x" + e.count);
            } else if (o instanceof Watermark) {
                s.add("W" + (((Watermark) o).getTimestamp() - T0));
            } else if (o instanceof WatermarkStatus) {
                s.add(((WatermarkStatus) o).isIdle() ? "IDLE" : "ACTIVE");
            }
        }
        return s;
    }

    @Test
    void foldsPerCustomerAndWindowAndEmitsBeforeTheNextWatermark() throws Exception {
        open();
        event("c1", T0 + 1000);
        event("c2", T0 + 2000);
        event("c1", T0 + 3000);
        event("c1", T0 + 5 * MIN); // next window
        event("c1", T0 + 500);
        assertThat(output()).as("nothing before the watermark").isEmpty();
        harness.processWatermark(new Watermark(T0 + 10_000));
        assertThat(output()).containsExactly(
                "c1@3000 x3", "c2@2000 x1", "c1@" + 5 * MIN + " x1", "W10000");
        assertThat(harness.getOutput().stream().filter(o -> o instanceof StreamRecord)
                .mapToLong(o -> ((RawEvent) ((StreamRecord<?>) o).getValue()).count).sum()).isEqualTo(5);
    }

    @Test
    void eventsOfAWindowThatMayHaveFiredGoOnAtOnceOnePerEvent() throws Exception {
        open();
        harness.processWatermark(new Watermark(T0 + 5 * MIN - 1)); // first window [T0, T0+5min) complete
        event("c1", T0 + 1000); // late or re-fire downstream: not folded
        event("c1", T0 + 2000);
        event("c1", T0 + 5 * MIN + 1); // open window: folded
        assertThat(output()).containsExactly("W" + (5 * MIN - 1), "c1@1000 x1", "c1@2000 x1");
        harness.processWatermark(new Watermark(T0 + 5 * MIN + 10));
        assertThat(output()).endsWith("c1@" + (5 * MIN + 1) + " x1", "W" + (5 * MIN + 10));
        // a window whose last millisecond is exactly the watermark is complete
        event("c2", T0 + 5 * MIN - 1);
        assertThat(output()).endsWith("c2@" + (5 * MIN - 1) + " x1");
    }

    @Test
    void emitsBeforeACheckpointBarrierAndAtEndOfInput() throws Exception {
        open();
        event("c1", T0);
        event("c1", T0 + 1);
        harness.prepareSnapshotPreBarrier(1L);
        assertThat(output()).containsExactly("c1@1 x2");
        event("c2", T0 + 2);
        harness.endInput();
        assertThat(output()).containsExactly("c1@1 x2", "c2@2 x1");
    }

    @Test
    void afterTheInputWasIdleEveryEventGoesOnAtOnce() throws Exception {
        open();
        event("c1", T0);
        harness.processWatermarkStatus(WatermarkStatus.IDLE);
        assertThat(output()).containsExactly("c1@0 x1", "IDLE");
        harness.processWatermarkStatus(WatermarkStatus.ACTIVE);
        event("c1", T0 + 1);
        event("c1", T0 + 2);
        assertThat(output()).containsExactly("c1@0 x1", "IDLE", "ACTIVE", "c1@1 x1", "c1@2 x1");
    }

    @Test
    void foldedCountsAddUp() throws Exception {
        open();
        harness.processElement(new StreamRecord<>(partial("c1", T0 + 7, 4), T0 + 7));
        event("c1", T0 + 8);
        harness.processWatermark(new Watermark(T0 + 9));
        assertThat(output()).containsExactly("c1@8 x5", "W9");
    }
}
