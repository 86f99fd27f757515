package com.acme.pipeline.flink.model;

import com.fasterxml.jackson.core.util.BufferRecycler;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** The buffer pool behind {@link EventJson#parse}: reuse, bound, and correctness under concurrency. */
class EventJsonSlotPoolTest {
    @Test
    void releasedRecyclerIsHandedOutAgainAndSurplusIsDropped() {
        EventJson.SlotPool pool = new EventJson.SlotPool();
        BufferRecycler a = pool.acquirePooled();
        pool.releasePooled(a);
        assertThat(pool.acquirePooled()).isSameAs(a);

        // 20 taken at once: all distinct; 20 released: only 16 are kept, so the next 20 acquires
        // return the 16 kept ones and 4 fresh ones
        List<BufferRecycler> taken = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            taken.add(pool.acquirePooled());
        }
        Map<BufferRecycler, Boolean> distinct = new IdentityHashMap<>();
        taken.forEach(r -> distinct.put(r, true));
        assertThat(distinct).hasSize(20);
        taken.forEach(pool::releasePooled);
        Map<BufferRecycler, Boolean> kept = new IdentityHashMap<>();
        taken.subList(0, 16).forEach(r -> kept.put(r, true));
        int reused = 0;
        for (int i = 0; i < 20; i++) {
            if (kept.containsKey(pool.acquirePooled())) {
                reused++;
            }
        }
        assertThat(reused).isEqualTo(16);
    }

    @Test
    void concurrentParsesFromMoreThreadsThanSlotsAreAllCorrect() throws Exception {
        int threads = 24;
        int perThread = 20_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                results.add(ex.submit(() -> {
                    start.await();
                    int ok = 0;
                    for (int i = 0; i < perThread; i++) {
                        String id = "cust-" + thread + "-" + i;
                        long ms = 1_714_564_800_000L + i;
                        byte[] json = ("{\"customer_id\":\"" + id + "\",\"payload\":{\"x\":[1,2,{\"y\":\"" + "z".repeat(i % 300)
                                + "\"}]},\"timestamp\":\"" + java.time.Instant.ofEpochMilli(ms) + "\"}")
                                .getBytes(StandardCharsets.UTF_8);
                        RawEvent e = EventJson.parse(json);
                        if (e.customerId.equals(id) && e.eventTime == ms) {
                            ok++;
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Integer> f : results) {
                assertThat(f.get()).isEqualTo(perThread);
            }
        } finally {
            ex.shutdownNow();
        }
    }
}
