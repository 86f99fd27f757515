package com.acme.pipeline.flink.model;

import java.util.Objects;

/** The parts of a raw event the aggregation needs (a Flink POJO). */
public class RawEvent {
    public String customerId;
    /** Event time, epoch milliseconds (from the ISO-8601 {@code timestamp} field). */
    public long eventTime;
    /** Null for a usable event; otherwise why the record was rejected (and a short excerpt of it). */
    public String malformed;

    public RawEvent() {}

    public static RawEvent malformed(String reasonAndExcerpt) {
        RawEvent e = new RawEvent();
        e.malformed = reasonAndExcerpt;
        return e;
    }

    public boolean isMalformed() {
        return malformed != null;
    }

    public RawEvent(String customerId, long eventTime) {
        this.customerId = customerId;
        this.eventTime = eventTime;
    }

    public String getCustomerId() {
        return customerId;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RawEvent)) {
            return false;
        }
        RawEvent e = (RawEvent) o;
        return eventTime == e.eventTime && Objects.equals(customerId, e.customerId)
                && Objects.equals(malformed, e.malformed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(customerId, eventTime, malformed);
    }

    @Override
    public String toString() {
        return malformed != null ? "RawEvent{malformed: " + malformed + "}" : "RawEvent{" + customerId + "@" + eventTime + "}";
    }
}
