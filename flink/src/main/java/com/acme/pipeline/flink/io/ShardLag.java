package com.acme.pipeline.flink.io;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Latest {@code millisBehindLatest} per shard of one reader; the gauge shows the largest. */
final class ShardLag {
    private final Map<String, Long> byShard = new ConcurrentHashMap<>();

    void update(String shardId, Long millisBehindLatest) {
        if (millisBehindLatest != null) {
            byShard.put(shardId, millisBehindLatest);
        }
    }

    void remove(String shardId) {
        byShard.remove(shardId);
    }

    /** 0 when no shard has reported yet (nothing read, nothing behind). */
    long max() {
        long m = 0;
        for (long v : byShard.values()) {
            m = Math.max(m, v);
        }
        return m;
    }
}
