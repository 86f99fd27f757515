package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts usable events per (customer, tumbling window) in each source subtask before the keyBy, so
 * one partial count per customer and window crosses the network instead of every event.
 *
 * <p>Same results as counting every event in the window operator:
 * <ul>
 *   <li>a window's partials are emitted (timestamp = the window's last millisecond) when this
 *       operator's input watermark reaches the window's end, before that watermark is forwarded; the
 *       window operator's watermark is never ahead of this channel's, so partials are never late there;
 *   <li>an event whose window this operator already flushed (its end is at or before the input
 *       watermark) is forwarded alone and at once, in its place among the watermarks: the window
 *       operator decides late / allowed-lateness re-fire / side output exactly as without this
 *       operator, and a late record always stands for one event;
 *   <li>before every checkpoint barrier everything buffered is emitted, so no state is needed and
 *       exactly-once holds.
 * </ul>
 */
public final class PreAggregate extends AbstractStreamOperator<RawEvent>
        implements OneInputStreamOperator<RawEvent, RawEvent>, BoundedOneInput {
    private static final long serialVersionUID = 1L;

    private final long windowMillis;
    /** window end -> customer -> count. */
    private transient TreeMap<Long, Map<String, long[]>> open;
    private transient long watermark;

    public PreAggregate(java.time.Duration windowSize) {
        this.windowMillis = windowSize.toMillis();
        setChainingStrategy(ChainingStrategy.ALWAYS);
    }

    @Override
    public void open() throws Exception {
        super.open();
        open = new TreeMap<>();
        watermark = Long.MIN_VALUE;
    }

    @Override
    public void processElement(StreamRecord<RawEvent> record) {
        RawEvent e = record.getValue();
        long start = e.eventTime - Math.floorMod(e.eventTime, windowMillis);
        long end = start + windowMillis;
        if (end - 1 <= watermark) {
            output.collect(record); // window already flushed here: the window operator decides
            return;
        }
        open.computeIfAbsent(end, k -> new HashMap<>()).computeIfAbsent(e.customerId, k -> new long[1])[0] += e.count;
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (mark.getTimestamp() > watermark) {
            watermark = mark.getTimestamp();
        }
        flushUpTo(mark.getTimestamp());
        super.processWatermark(mark);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flushUpTo(Long.MAX_VALUE);
    }

    @Override
    public void endInput() {
        flushUpTo(Long.MAX_VALUE);
    }

    /** Emits the partials of every window whose last millisecond is at or before {@code upTo}. */
    private void flushUpTo(long upTo) {
        Iterator<Map.Entry<Long, Map<String, long[]>>> it = open.entrySet().iterator();
        StreamRecord<RawEvent> reuse = new StreamRecord<>(null);
        while (it.hasNext()) {
            Map.Entry<Long, Map<String, long[]>> w = it.next();
            long last = w.getKey() - 1;
            if (last > upTo) {
                break;
            }
            for (Map.Entry<String, long[]> c : w.getValue().entrySet()) {
                RawEvent partial = new RawEvent(c.getKey(), last);
                partial.count = c.getValue()[0];
                output.collect(reuse.replace(partial, last));
            }
            it.remove();
        }
    }
}
