package com.acme.pipeline.flink.watermark;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkOutputMultiplexer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.util.clock.RelativeClock;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Per-shard watermarks for the EFO reader ({@code FlinkKinesisConsumer}), chained right after it.
 *
 * <p>The legacy consumer only offers per-shard watermarks through its own assigner, and that
 * assigner counts every record (malformed too) as shard activity and ignores shards that have not
 * delivered yet. Here every record carries its shard id (set by the deserializer), each shard gets a
 * {@link ShardWatermarkGenerator} (the same rules as the POLLING reader's per-split watermarks) and
 * Flink's {@link WatermarkOutputMultiplexer} combines them: minimum over non-idle shards, idle when
 * all are. For one idleness timeout after (re)start no watermark is emitted, so a shard whose first
 * records arrive a little after the others' is not left behind.
 *
 * <p>No state: after a restore the shards start over from their restored positions, like the
 * FLIP-27 reader's splits.
 */
public final class EfoShardWatermarks extends AbstractStreamOperator<RawEvent>
        implements OneInputStreamOperator<RawEvent, RawEvent>, ProcessingTimeCallback {
    private static final long serialVersionUID = 1L;

    private final Duration outOfOrderness;
    private final Duration idleness;
    private transient RelativeClock clock;
    private transient WatermarkOutputMultiplexer multiplexer;
    private transient Map<String, ShardWatermarkGenerator> shards;
    private transient long emitIntervalMillis;
    private transient long holdUntilNanos;
    private transient long lastEmitted;
    private transient boolean outputIdle;

    public EfoShardWatermarks(Duration outOfOrderness, Duration idleness) {
        this.outOfOrderness = outOfOrderness;
        this.idleness = idleness;
        setChainingStrategy(ChainingStrategy.ALWAYS);
    }

    @Override
    public void open() throws Exception {
        super.open();
        // processing time (wall clock in a job, manual in the operator test harness)
        clock = new RelativeClock() {
            @Override
            public long relativeTimeMillis() {
                return getProcessingTimeService().getCurrentProcessingTime();
            }

            @Override
            public long relativeTimeNanos() {
                return relativeTimeMillis() * 1_000_000L;
            }
        };
        shards = new HashMap<>();
        lastEmitted = Long.MIN_VALUE;
        multiplexer = new WatermarkOutputMultiplexer(new WatermarkOutput() {
            @Override
            public void emitWatermark(org.apache.flink.api.common.eventtime.Watermark w) {
                markActive();
                if (w.getTimestamp() > lastEmitted) {
                    lastEmitted = w.getTimestamp();
                    output.emitWatermark(new Watermark(lastEmitted));
                }
            }

            @Override
            public void markIdle() {
                if (!outputIdle) {
                    outputIdle = true;
                    output.emitWatermarkStatus(WatermarkStatus.IDLE);
                }
            }

            @Override
            public void markActive() {
                if (outputIdle) {
                    outputIdle = false;
                    output.emitWatermarkStatus(WatermarkStatus.ACTIVE);
                }
            }
        });
        long interval = getExecutionConfig().getAutoWatermarkInterval();
        emitIntervalMillis = interval > 0 ? interval : 200;
        holdUntilNanos = clock.relativeTimeNanos() + idleness.toNanos();
        schedule();
    }

    private void schedule() {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + emitIntervalMillis, this);
    }

    @Override
    public void processElement(StreamRecord<RawEvent> record) {
        RawEvent e = record.getValue();
        String shard = e.shardId == null ? "" : e.shardId;
        e.shardId = null; // not needed downstream: keep it off the wire
        ShardWatermarkGenerator g = shards.get(shard);
        if (g == null) {
            g = new ShardWatermarkGenerator(outOfOrderness, idleness, clock);
            shards.put(shard, g);
            multiplexer.registerNewOutput(shard, w -> {});
        }
        g.onEvent(e, e.eventTime, multiplexer.getDeferredOutput(shard));
        if (e.isUsable()) {
            output.collect(record.replace(e, e.eventTime));
        } else {
            output.collect(record.replace(e));
        }
    }

    @Override
    public void onProcessingTime(long time) {
        if (clock.relativeTimeNanos() >= holdUntilNanos) {
            for (Map.Entry<String, ShardWatermarkGenerator> s : shards.entrySet()) {
                s.getValue().onPeriodicEmit(multiplexer.getDeferredOutput(s.getKey()));
            }
            multiplexer.onPeriodicEmit();
        }
        schedule();
    }

    /** The consumer emits no watermarks of its own (no assigner); only end of input passes. */
    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (mark.getTimestamp() == Long.MAX_VALUE) {
            super.processWatermark(mark);
        }
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus status) {
        // the status of this operator's output is derived from the shards above
    }
}
