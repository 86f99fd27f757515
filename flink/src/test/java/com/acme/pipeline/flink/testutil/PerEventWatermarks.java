package com.acme.pipeline.flink.testutil;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

import java.time.Duration;

/**
 * Bounded out-of-orderness watermarks emitted after every event (not periodically), so which
 * events are late does not depend on timing: for deterministic end-to-end tests.
 */
public final class PerEventWatermarks implements WatermarkGenerator<RawEvent> {
    private final long bound;
    private long max = Long.MIN_VALUE;

    private PerEventWatermarks(Duration bound) {
        this.bound = bound.toMillis();
    }

    public static WatermarkStrategy<RawEvent> strategy(Duration bound) {
        return WatermarkStrategy.<RawEvent>forGenerator(ctx -> new PerEventWatermarks(bound))
                .withTimestampAssigner((e, ts) -> e.malformed == null ? e.eventTime : Long.MIN_VALUE);
    }

    @Override
    public void onEvent(RawEvent event, long ts, WatermarkOutput output) {
        if (event.malformed == null && ts > max) {
            max = ts;
            output.emitWatermark(new Watermark(max - bound - 1));
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {}
}
