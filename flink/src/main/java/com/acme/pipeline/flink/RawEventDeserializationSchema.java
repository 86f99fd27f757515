package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.MalformedEventException;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.serialization.AbstractDeserializationSchema;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Turns a Kinesis record into a {@link RawEvent}. Never throws and never drops: a record that is not
 * a usable event becomes a {@link RawEvent#malformed(String)} marker, and a well-formed event more
 * than the allowed skew ahead of processing time becomes a {@link RawEvent#future} marker; the
 * pipeline counts both and sends them to side outputs, so one bad record cannot fail the job or
 * move a watermark.
 */
public class RawEventDeserializationSchema extends AbstractDeserializationSchema<RawEvent> {
    private static final long serialVersionUID = 1L;
    private static final int EXCERPT_BYTES = 200;

    private final long maxFutureSkewMillis;

    /** @param maxFutureSkew how far ahead of processing time (wall clock when read) an event may be */
    public RawEventDeserializationSchema(Duration maxFutureSkew) {
        super(RawEvent.class);
        this.maxFutureSkewMillis = maxFutureSkew.toMillis();
    }

    @Override
    public RawEvent deserialize(byte[] message) {
        return parse(message, System.currentTimeMillis() + maxFutureSkewMillis);
    }

    /** Parses without a future bound (tests and the benchmark's in-memory datasets). */
    public static RawEvent parse(byte[] message) {
        return parse(message, Long.MAX_VALUE);
    }

    /** @param latestEventTime events with a later time (epoch ms) become future markers */
    public static RawEvent parse(byte[] message, long latestEventTime) {
        RawEvent e;
        try {
            e = EventJson.parse(message);
        } catch (MalformedEventException ex) {
            int n = message == null ? 0 : Math.min(message.length, EXCERPT_BYTES);
            String excerpt = n == 0 ? "" : new String(message, 0, n, StandardCharsets.UTF_8);
            return RawEvent.malformed(ex.getMessage() + " | " + excerpt);
        }
        if (e.eventTime > latestEventTime) {
            return RawEvent.future(e.customerId, e.eventTime, "event time " + EventJson.iso(e.eventTime)
                    + " is after the latest allowed " + EventJson.iso(latestEventTime));
        }
        return e;
    }
}
