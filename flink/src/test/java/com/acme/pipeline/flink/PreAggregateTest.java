package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The pre-aggregation before the keyBy: partials before the watermark, late events alone, flush at barriers. */
class PreAggregateTest {
    private static final long T0 = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();
    private static final long MIN = 60_000;

    private static List<String> out(OneInputStreamOperatorTestHarness<RawEvent, RawEvent> h) {
        List<String> l = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof Watermark) {
                l.add("W" + (((Watermark) o).getTimestamp() - T0));
            } else {
                @SuppressWarnings("unchecked")
                StreamRecord<RawEvent> r = (StreamRecord<RawEvent>) o;
                l.add(r.getValue().customerId + "@" + (r.getTimestamp() - T0) + "x" + r.getValue().count);
            }
        }
        return l;
    }

    @Test
    void partialsBeforeTheWatermarkLateEventsAloneAndEverythingBeforeABarrier() throws Exception {
        try (OneInputStreamOperatorTestHarness<RawEvent, RawEvent> h =
                new OneInputStreamOperatorTestHarness<>(new PreAggregate(Duration.ofMinutes(1)))) {
            h.open();
            h.processElement(new RawEvent("c1", T0 + 1_000), T0 + 1_000);
            h.processElement(new RawEvent("c1", T0 + 2_000), T0 + 2_000);
            h.processElement(new RawEvent("c2", T0 + 3_000), T0 + 3_000);
            h.processElement(new RawEvent("c1", T0 + MIN + 5), T0 + MIN + 5);
            assertThat(out(h)).as("nothing before a watermark closes the window").isEmpty();
            h.processWatermark(new Watermark(T0 + MIN - 1));
            // the first window's partials (timestamp = its last millisecond), then the watermark
            assertThat(out(h)).containsExactlyInAnyOrder("c1@59999x2", "c2@59999x1", "W59999");
            assertThat(out(h).get(2)).isEqualTo("W59999");
            h.getOutput().clear();
            h.processElement(new RawEvent("c2", T0 + 4_000), T0 + 4_000); // its window was flushed: alone, at once
            assertThat(out(h)).containsExactly("c2@4000x1");
            h.getOutput().clear();
            h.prepareSnapshotPreBarrier(1); // the open second window goes out before the barrier
            assertThat(out(h)).containsExactly("c1@119999x1");
        }
    }
}
