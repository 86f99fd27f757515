package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.MalformedEventException;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.serialization.AbstractDeserializationSchema;

import java.nio.charset.StandardCharsets;

/**
 * Turns a Kinesis record into a {@link RawEvent}. Never throws and never drops: a record that is not
 * a usable event becomes a {@link RawEvent#malformed(String)} marker, which the pipeline counts and
 * sends to a side output, so one bad record cannot fail the job.
 */
public class RawEventDeserializationSchema extends AbstractDeserializationSchema<RawEvent> {
    private static final long serialVersionUID = 1L;
    private static final int EXCERPT_BYTES = 200;

    public RawEventDeserializationSchema() {
        super(RawEvent.class);
    }

    @Override
    public RawEvent deserialize(byte[] message) {
        return parse(message);
    }

    public static RawEvent parse(byte[] message) {
        try {
            return EventJson.parse(message);
        } catch (MalformedEventException e) {
            int n = message == null ? 0 : Math.min(message.length, EXCERPT_BYTES);
            String excerpt = n == 0 ? "" : new String(message, 0, n, StandardCharsets.UTF_8);
            return RawEvent.malformed(e.getMessage() + " | " + excerpt);
        }
    }
}
