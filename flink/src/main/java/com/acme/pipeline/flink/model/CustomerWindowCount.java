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
