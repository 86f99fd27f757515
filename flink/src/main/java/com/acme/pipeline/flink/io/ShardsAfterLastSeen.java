package com.acme.pipeline.flink.io;

import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;

import javax.annotation.Nullable;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The enumerator's stream proxy, returning from {@code listShards(arn, lastSeenShardId)} only the
 * shards whose id comes after {@code lastSeenShardId}: what {@code ExclusiveStartShardId} means.
 *
 * <p>Why: the 4.3.0 enumerator keeps only {@code lastSeenShardId} (and the unassigned splits) in its
 * checkpoint, not which shards it has assigned. After a restore its periodic discovery lists the
 * shards after {@code lastSeenShardId} and assigns every one it gets back from TRIM_HORIZON. Kinesis
 * returns none of the shards already known, but an endpoint that ignores
 * {@code ExclusiveStartShardId} (moto does) returns all of them: each shard is assigned a second
 * time, possibly to another subtask, which re-reads it from the start while the restored split goes
 * on from its checkpointed position (the duplicates arrive late). Kinesis shard ids
 * ({@code shardId-} and 12 digits, increasing with creation) compare in creation order, which is the
 * order ListShards returns them in, so a string comparison is the API's own rule. Against Kinesis
 * the filter removes nothing.
 */
final class ShardsAfterLastSeen implements StreamProxy {
    private final StreamProxy delegate;

    ShardsAfterLastSeen(StreamProxy delegate) {
        this.delegate = delegate;
    }

    @Override
    public List<Shard> listShards(String streamArn, @Nullable String lastSeenShardId) {
        List<Shard> all = delegate.listShards(streamArn, lastSeenShardId);
        if (lastSeenShardId == null) {
            return all;
        }
        List<Shard> after = new ArrayList<>(all.size());
        for (Shard s : all) {
            if (s.shardId().compareTo(lastSeenShardId) > 0) {
                after.add(s);
            }
        }
        return after;
    }

    @Override
    public GetRecordsResponse getRecords(String streamArn, String shardId, StartingPosition startingPosition) {
        return delegate.getRecords(streamArn, shardId, startingPosition);
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }
}
