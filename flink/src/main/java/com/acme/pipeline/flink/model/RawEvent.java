package com.acme.pipeline.flink.model;

import java.util.Objects;

/** The parts of a raw event the aggregation needs (a Flink POJO). */
public class RawEvent {
    public String customerId;
    /** Event time, epoch milliseconds (from the ISO-8601 {@code timestamp} field). */
    public long eventTime;
    /** Null for a usable event; otherwise why the record was rejected (and a short excerpt of it). */
    public String malformed;
    /**
     * True for a well-formed event whose time is more than the allowed skew ahead of processing
     * time when it was read ({@link #malformed} then says so): it goes to the future-events side
     * output and never moves a watermark.
     */
    public boolean future;
    /**
     * Kinesis shard the record came from, set only by the EFO reader (its per-shard watermarks are
     * computed after the source) and cleared there; null everywhere else.
     */
    public String shardId;
    /**
     * Number of events this record stands for: 1 for a record read from the stream; more for a
     * partial count of one customer and window made by {@code PreAggregateOperator} before the keyBy.
     */
    public long count = 1;

    public RawEvent() {}

    /** A well-formed event too far ahead of processing time. */
    public static RawEvent future(String customerId, long eventTime, String reason) {
        RawEvent e = new RawEvent(customerId, eventTime);
        e.malformed = reason;
        e.future = true;
        return e;
    }

    /** Usable for windows and watermarks: well-formed and not from the future. */
    public boolean isUsable() {
        return malformed == null;
    }

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
        return eventTime == e.eventTime && future == e.future && count == e.count
                && Objects.equals(customerId, e.customerId)
                && Objects.equals(malformed, e.malformed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(customerId, eventTime, malformed);
    }

    @Override
    public String toString() {
        if (future) {
            return "RawEvent{future: " + customerId + "@" + eventTime + ": " + malformed + "}";
        }
        if (malformed != null) {
            return "RawEvent{malformed: " + malformed + "}";
        }
        return count == 1 ? "RawEvent{" + customerId + "@" + eventTime + "}"
                : "RawEvent{" + customerId + "@" + eventTime + " x" + count + "}";
    }
}
