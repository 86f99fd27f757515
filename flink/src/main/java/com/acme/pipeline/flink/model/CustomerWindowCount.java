package com.acme.pipeline.flink.model;

import java.util.Objects;

/** Count of one customer's events in one tumbling event-time window (a Flink POJO). */
public class CustomerWindowCount {
    public String customerId;
    /** Window start, epoch millis, inclusive. */
    public long windowStart;
    /** Window end, epoch millis, exclusive. */
    public long windowEnd;
    public long count;

    public CustomerWindowCount() {}

    /**
     * Deterministic id of the aggregate: {@code customer_id + "#" + window_start} (window start as
     * written in the record, ISO-8601 UTC). The same customer and window always get the same id, so
     * a re-fire, a sink retry or a replay after restore overwrites rather than adds.
     */
    public static String aggregateId(String customerId, String windowStartIso) {
        return customerId + "#" + windowStartIso;
    }

    /**
     * Version of the aggregate = its count. A window only fires again when an event is added to it
     * (allowed lateness), so every re-fire has a higher count; a replay of the same firing has the
     * same count. Consumers keep the record with the highest version per {@code aggregate_id}.
     */
    public long version() {
        return count;
    }

    public CustomerWindowCount(String customerId, long windowStart, long windowEnd, long count) {
        this.customerId = customerId;
        this.windowStart = windowStart;
        this.windowEnd = windowEnd;
        this.count = count;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof CustomerWindowCount)) {
            return false;
        }
        CustomerWindowCount c = (CustomerWindowCount) o;
        return windowStart == c.windowStart && windowEnd == c.windowEnd && count == c.count
                && Objects.equals(customerId, c.customerId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(customerId, windowStart, windowEnd, count);
    }

    @Override
    public String toString() {
        return "CustomerWindowCount{" + customerId + " [" + windowStart + "," + windowEnd + ") = " + count + "}";
    }
}
