package com.acme.pipeline.flink.io;

import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplitState;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;

import javax.annotation.Nullable;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The connector's polling split reader (4.3.0 {@code PollingKinesisShardSplitReader}) with a per-shard
 * pace: a shard's next GetRecords call starts at least one interval after its previous call
 * returned, whether or not that call returned records (so at most 1000 / interval calls per second
 * per shard; the SDK's own retries of a failed call come on top). Between calls the fetcher thread waits (woken early when splits change or the reader
 * closes). Each response's {@code millisBehindLatest} goes to {@link ShardLag}.
 */
final class PacedShardSplitReader implements SplitReader<Record, KinesisShardSplit> {
    private static final RecordsWithSplitIds<Record> NOTHING = new Batch(Collections.emptyIterator(), null, false);

    private static final class Assigned {
        final KinesisShardSplitState state;
        long dueNanos;

        Assigned(KinesisShardSplitState state, long dueNanos) {
            this.state = state;
            this.dueNanos = dueNanos;
        }
    }

    private final StreamProxy kinesis;
    private final long intervalNanos;
    private final ShardLag lag;
    private final List<Assigned> splits = new ArrayList<>();
    private final Object lock = new Object();

    PacedShardSplitReader(StreamProxy kinesis, Duration interval, ShardLag lag) {
        this.kinesis = kinesis;
        this.intervalNanos = interval.toNanos();
        this.lag = lag;
    }

    @Override
    public RecordsWithSplitIds<Record> fetch() throws IOException {
        Assigned next;
        synchronized (lock) {
            next = null;
            for (Assigned a : splits) {
                if (next == null || a.dueNanos < next.dueNanos) {
                    next = a;
                }
            }
            if (next == null) {
                return NOTHING;
            }
            long waitNanos = next.dueNanos - System.nanoTime();
            if (waitNanos > 0) {
                try {
                    lock.wait(Math.max(1, waitNanos / 1_000_000), 0);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return NOTHING;
                }
                // woken early, or the wait ended: pick again on the next call
                return NOTHING;
            }
            next.dueNanos = Long.MAX_VALUE; // in flight
        }
        KinesisShardSplitState split = next.state;
        GetRecordsResponse response;
        try {
            response = kinesis.getRecords(split.getStreamArn(), split.getShardId(), split.getNextStartingPosition());
        } finally {
            // the interval runs from the end of a call: calls on one shard are at least an interval
            // apart however long each takes
            synchronized (lock) {
                next.dueNanos = System.nanoTime() + intervalNanos;
            }
        }
        lag.update(split.getShardId(), response.millisBehindLatest());
        boolean complete = response.nextShardIterator() == null;
        if (complete) {
            synchronized (lock) {
                splits.remove(next);
            }
            lag.remove(split.getShardId());
        }
        if (!response.hasRecords() || response.records().isEmpty()) {
            return complete ? new Batch(Collections.emptyIterator(), split.getSplitId(), true) : NOTHING;
        }
        List<Record> records = response.records();
        split.setNextStartingPosition(
                StartingPosition.continueFromSequenceNumber(records.get(records.size() - 1).sequenceNumber()));
        return new Batch(records.iterator(), split.getSplitId(), complete);
    }

    @Override
    public void handleSplitsChanges(SplitsChange<KinesisShardSplit> change) {
        synchronized (lock) {
            long now = System.nanoTime();
            for (KinesisShardSplit split : change.splits()) {
                splits.add(new Assigned(new KinesisShardSplitState(split), now));
            }
            lock.notifyAll();
        }
    }

    @Override
    public void wakeUp() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    @Override
    public void close() throws Exception {
        kinesis.close();
    }

    private static final class Batch implements RecordsWithSplitIds<Record> {
        private final Iterator<Record> records;
        private final String splitId;
        private final boolean complete;

        Batch(Iterator<Record> records, String splitId, boolean complete) {
            this.records = records;
            this.splitId = splitId;
            this.complete = complete;
        }

        @Nullable
        @Override
        public String nextSplit() {
            return records.hasNext() ? splitId : null;
        }

        @Nullable
        @Override
        public Record nextRecordFromSplit() {
            return records.hasNext() ? records.next() : null;
        }

        @Override
        public Set<String> finishedSplits() {
            if (splitId == null || records.hasNext()) {
                return Collections.emptySet();
            }
            return complete ? Collections.singleton(splitId) : Collections.emptySet();
        }
    }
}
