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
 * <p>A generator that has not been given a single record yet goes idle only after the timeout plus
 * {@link #UNREAD_GRACE}. The FLIP-27 source operator also runs one generator on its main output,
 * which never gets a record (the Kinesis reader emits through per-split outputs), and Flink marks
 * the source subtask idle once that generator and the split outputs are idle, the split outputs
 * counting as idle until their combined watermark first advances. With the plain timeout, a subtask
 * whose shards were assigned after the timeout (the 4.3.0 enumerator assigns at its second
 * discovery, up to 2 x 10 s after start) stayed idle until all its shards had a watermark or were
 * idle: a garbage-only shard kept it so for another timeout, the window operator followed the other
 * subtasks alone, and the events of a lagging shard on the idle subtask came late (seen in
 * {@code KinesisExactCountsTest} at load 10-17). The grace keeps the subtask active until its shards
 * have been assigned; a shard without any record is held back that much longer, which only delays
 * windows.
 *
 * <p>Time for the idleness timeout is the input-activity clock Flink passes (it stops while the
 * source is back-pressured or paused for alignment), so a shard is not declared idle because the job
 * could not read it. The clock is read at each periodic emit, not per event (it is synchronized):
 * activity seen since the previous emit counts as activity at this emit, as in Flink's own
 * {@code WatermarksWithIdleness}.
 * A shard therefore goes idle up to one emit interval ({@code pipeline.auto-watermark-interval},
 * 200 ms) later than its last usable event plus the timeout, never earlier.
 */
public final class ShardWatermarkGenerator implements WatermarkGenerator<RawEvent> {
    /** Extra idleness timeout before the first record: covers the enumerator's late first assignment. */
    public static final Duration UNREAD_GRACE = Duration.ofSeconds(30);

    private final long outOfOrdernessMillis;
    private final long idleNanos;
    private final RelativeClock clock;
    private long maxEventTime = Long.MIN_VALUE;
    private long lastActivityNanos;
    /** A usable event arrived since the last periodic emit. */
    private boolean activeSinceEmit;
    private boolean idle;
    private boolean anyRecord;

    public ShardWatermarkGenerator(Duration outOfOrderness, Duration idleness, RelativeClock clock) {
        this.outOfOrdernessMillis = outOfOrderness.toMillis();
        this.idleNanos = idleness.toNanos();
        this.clock = clock;
        this.lastActivityNanos = clock.relativeTimeNanos();
    }

    @Override
    public void onEvent(RawEvent event, long timestamp, WatermarkOutput output) {
        anyRecord = true;
        if (!event.isUsable()) {
            return;
        }
        if (event.eventTime > maxEventTime) {
            maxEventTime = event.eventTime;
        }
        activeSinceEmit = true;
        if (idle) {
            idle = false;
            output.markActive();
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        long now = clock.relativeTimeNanos();
        if (activeSinceEmit) {
            activeSinceEmit = false;
            lastActivityNanos = now;
        }
        long timeout = anyRecord ? idleNanos : idleNanos + UNREAD_GRACE.toNanos();
        if (now - lastActivityNanos >= timeout) {
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
