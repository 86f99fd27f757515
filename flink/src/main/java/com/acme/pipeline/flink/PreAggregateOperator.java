package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Counts events per (customer, tumbling window) before the keyBy, so the window operator gets one
 * record per customer and window per watermark instead of one per event ({@link RawEvent#count}).
 *
 * <p>Only an event whose window the window operator cannot have fired yet is folded in: its window
 * ends after the last watermark this operator forwarded. The partial counts are emitted just before
 * the next watermark (and before a checkpoint barrier, a change of watermark status and the end of
 * input), so on this channel they arrive between the same two watermarks as their events would have.
 * The window operator's watermark is the minimum over its input channels, at most this channel's, so
 * such a partial is never late there and never causes a firing: counts, lateness, re-fires (and so
 * aggregate versions) are exactly those of the per-event path. Every other event (its window could
 * be firing or late downstream, or it has no timestamp) is passed on at once, unchanged, as before.
 *
 * <p>That bound holds while this channel counts in the window operator's watermark. Once the input
 * has been idle, the window operator ignores the channel until its watermark has caught up with the
 * others', which cannot be seen from here: from then on (until the job restarts) every event is
 * passed on at once and the job behaves exactly as without this operator.
 *
 * <p>No state: nothing is held across a checkpoint barrier.
 */
public final class PreAggregateOperator extends AbstractStreamOperator<RawEvent>
        implements OneInputStreamOperator<RawEvent, RawEvent>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PreAggregateOperator.class);

    private final long windowSizeMillis;
    private transient HashMap<String, Partial> partials;
    private transient List<Partial> order;
    private transient StreamRecord<RawEvent> out;
    /** Last watermark forwarded downstream. */
    private transient long forwarded;
    /** False once the input was idle: every event is passed on unchanged. */
    private transient boolean folding;

    /** Open count of one customer in one window; {@link #next} links the customer's other windows. */
    private static final class Partial {
        final String customerId;
        final long windowStart;
        long count;
        long maxTimestamp;
        Partial next;

        Partial(String customerId, long windowStart) {
            this.customerId = customerId;
            this.windowStart = windowStart;
        }
    }

    public PreAggregateOperator(long windowSizeMillis) {
        if (windowSizeMillis <= 0) {
            throw new IllegalArgumentException("window size must be positive, got " + windowSizeMillis + " ms");
        }
        this.windowSizeMillis = windowSizeMillis;
        setChainingStrategy(ChainingStrategy.ALWAYS);
    }

    @Override
    public void open() throws Exception {
        super.open();
        partials = new HashMap<>();
        order = new ArrayList<>();
        out = new StreamRecord<>(null);
        forwarded = Long.MIN_VALUE;
        folding = true;
    }

    @Override
    public void processElement(StreamRecord<RawEvent> record) throws Exception {
        RawEvent e = record.getValue();
        if (!folding || !record.hasTimestamp() || record.getTimestamp() == Long.MIN_VALUE) {
            output.collect(record);
            return;
        }
        long ts = record.getTimestamp();
        long start = TimeWindow.getWindowStartWithOffset(ts, 0, windowSizeMillis);
        if (start + windowSizeMillis - 1 <= forwarded) {
            // the window may be firing (allowed lateness) or late downstream: per event, as before
            output.collect(record);
            return;
        }
        Partial head = partials.get(e.customerId);
        Partial p = head;
        while (p != null && p.windowStart != start) {
            p = p.next;
        }
        if (p == null) {
            p = new Partial(e.customerId, start);
            p.maxTimestamp = ts;
            p.next = head;
            partials.put(e.customerId, p);
            order.add(p);
        }
        p.count += e.count;
        if (ts > p.maxTimestamp) {
            p.maxTimestamp = ts;
        }
    }

    private void flush() {
        if (order.isEmpty()) {
            return;
        }
        for (Partial p : order) {
            RawEvent agg = new RawEvent(p.customerId, p.maxTimestamp);
            agg.count = p.count;
            output.collect(out.replace(agg, p.maxTimestamp));
        }
        order.clear();
        partials.clear();
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        flush();
        super.processWatermark(mark);
        if (mark.getTimestamp() > forwarded) {
            forwarded = mark.getTimestamp();
        }
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus status) throws Exception {
        flush();
        if (status.isIdle() && folding) {
            folding = false;
            LOG.info("Input idle: pre-aggregation off until restart, every event goes to the window operator as is");
        }
        super.processWatermarkStatus(status);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        flush();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void endInput() {
        flush();
    }

    @Override
    public void finish() throws Exception {
        flush();
        super.finish();
    }
}
