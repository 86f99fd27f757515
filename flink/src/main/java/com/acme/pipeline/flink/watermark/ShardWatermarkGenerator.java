package com.acme.pipeline.flink.watermark;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.RelativeClock;

import java.time.Duration;

/**
 * Watermarks of one Kinesis shard: bounded out-of-orderness over the shard's usable events, idle
 * after a timeout without usable events.
 *
 * <p>Unlike Flink's {@code WatermarksWithIdleness}, only usable events ({@link RawEvent#isUsable()}:
 * well-formed and not from the future) count as activity: a shard carrying only malformed or
 * far-future records goes idle and does not hold back the other shards, and such records never move
 * the watermark. Until its first usable event a shard emits no watermark, so it holds the others back
 * (up to the idleness timeout) instead of letting them run ahead of records it has not read yet.
 *
 * <p>Time for the idleness timeout is the input-activity clock Flink passes (it stops while the
 * source is back-pressured or paused for alignment), so a shard is not declared idle because the job
 * could not read it.
 */
public final class ShardWatermarkGenerator implements WatermarkGenerator<RawEvent> {
    private final long outOfOrdernessMillis;
    private final long idleNanos;
    private final RelativeClock clock;
    private long maxEventTime = Long.MIN_VALUE;
    private long lastActivityNanos;
    private boolean idle;

    public ShardWatermarkGenerator(Duration outOfOrderness, Duration idleness, RelativeClock clock) {
        this.outOfOrdernessMillis = outOfOrderness.toMillis();
        this.idleNanos = idleness.toNanos();
        this.clock = clock;
        this.lastActivityNanos = clock.relativeTimeNanos();
    }

    @Override
    public void onEvent(RawEvent event, long timestamp, WatermarkOutput output) {
        if (!event.isUsable()) {
            return;
        }
        if (event.eventTime > maxEventTime) {
            maxEventTime = event.eventTime;
        }
        lastActivityNanos = clock.relativeTimeNanos();
        if (idle) {
            idle = false;
            output.markActive();
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        if (clock.relativeTimeNanos() - lastActivityNanos >= idleNanos) {
            if (!idle) {
                idle = true;
                output.markIdle();
            }
            return;
        }
        if (maxEventTime != Long.MIN_VALUE) {
            output.emitWatermark(new Watermark(maxEventTime - outOfOrdernessMillis - 1));
        }
    }
}
