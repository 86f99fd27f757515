package com.acme.pipeline.flink.io;

import com.acme.pipeline.flink.AggregationPipeline;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.fetcher.SingleThreadFetcherManager;
import org.apache.flink.connector.base.source.reader.synchronization.FutureCompletingBlockingQueue;
import org.apache.flink.connector.kinesis.source.KinesisStreamsSource;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisStreamsSourceEnumerator;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisStreamsSourceEnumeratorState;
import org.apache.flink.connector.kinesis.source.enumerator.assigner.ShardAssignerFactory;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.reader.KinesisStreamsRecordEmitter;
import org.apache.flink.connector.kinesis.source.reader.KinesisStreamsSourceReader;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplitState;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.UserCodeClassLoader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The connector's {@link KinesisStreamsSource} (4.3.0) with a paced split reader.
 *
 * <p>Enumerator, splits and their serializers are the connector's (so checkpoints and savepoints of
 * the plain source restore unchanged, same uid). The reader differs: {@link PacedShardSplitReader}
 * makes at most one GetRecords call per shard per {@code pollingInterval} (the 4.3.0 reader calls
 * back to back, FLINK-36947) and publishes the lag metric the processing-lag alarm reads; and a
 * reader ignores a split it already owns ({@link OwnedSplitsReader}). The enumerator is the
 * connector's, constructed as {@link KinesisStreamsSource} does, with its shard listing held to
 * {@code ExclusiveStartShardId} ({@link ShardsAfterLastSeen}): without both, a restore against an
 * endpoint that ignores that parameter assigns every shard again from TRIM_HORIZON.
 */
public final class PacedPollingSource<T>
        implements Source<T, KinesisShardSplit, KinesisStreamsSourceEnumeratorState>, ResultTypeQueryable<T> {
    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(PacedPollingSource.class);

    private final KinesisStreamsSource<T> connector;
    private final String streamArn;
    private final Configuration sourceConfig;
    private final DeserializationSchema<T> deserializer;
    private final Duration pollingInterval;
    private final String lagMetricId;

    /**
     * @param lagMetricId value of the {@code Id} dimension of {@code millisBehindLatest}
     *     ({@link #lagMetricId(String)} of the stream name)
     * @param streamArn the stream {@code connector} was built for (the connector does not expose it)
     */
    public PacedPollingSource(KinesisStreamsSource<T> connector, String streamArn, Configuration sourceConfig,
            DeserializationSchema<T> deserializer, Duration pollingInterval, String lagMetricId) {
        this.connector = connector;
        this.streamArn = streamArn;
        this.sourceConfig = sourceConfig;
        this.deserializer = deserializer;
        this.pollingInterval = pollingInterval;
        this.lagMetricId = lagMetricId;
    }

    /** The {@code Id} dimension Managed Flink gives the input-stream metrics: stream name, "-" as "_". */
    public static String lagMetricId(String streamName) {
        return streamName.replace('-', '_');
    }

    /**
     * {@code kinesisanalytics.Flow.Input.Id.<id>.millisBehindLatest}: Managed Flink exports metrics
     * under the {@code kinesisanalytics} group to CloudWatch (namespace AWS/KinesisAnalytics), the
     * key/value groups becoming dimensions, so this is {@code millisBehindLatest} with dimensions
     * Application, Flow=Input, Id=stream name with "_": what the processing-lag alarm reads.
     */
    public static MetricGroup lagMetricGroup(MetricGroup readerGroup, String lagMetricId) {
        return readerGroup.addGroup(AggregationPipeline.METRIC_GROUP)
                .addGroup(LAG_FLOW_KEY, LAG_FLOW_VALUE)
                .addGroup(LAG_ID_KEY, lagMetricId);
    }

    public static final String LAG_METRIC = "millisBehindLatest";
    public static final String LAG_FLOW_KEY = "Flow";
    public static final String LAG_FLOW_VALUE = "Input";
    public static final String LAG_ID_KEY = "Id";

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<T, KinesisShardSplit> createReader(SourceReaderContext ctx) throws Exception {
        deserializer.open(new DeserializationSchema.InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
                return ctx.metricGroup().addGroup("deserializer");
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
                return ctx.getUserCodeClassLoader();
            }
        });
        ShardLag lag = new ShardLag();
        lagMetricGroup(ctx.metricGroup(), lagMetricId).gauge(LAG_METRIC, lag::max);
        FutureCompletingBlockingQueue<RecordsWithSplitIds<Record>> queue = new FutureCompletingBlockingQueue<>();
        SingleThreadFetcherManager<Record, KinesisShardSplit> fetchers = new SingleThreadFetcherManager<>(queue,
                () -> new PacedShardSplitReader(createProxy(), pollingInterval, lag), sourceConfig);
        return new OwnedSplitsReader<>(queue, fetchers,
                new KinesisStreamsRecordEmitter<>(KinesisDeserializationSchema.of(deserializer)), sourceConfig, ctx);
    }

    /**
     * The connector's source reader, ignoring (with a warning) a split whose shard it already reads.
     * A second assignment of an owned shard carries the enumerator's starting position, older than
     * the reader's; taking it would replace the split's checkpointed position in the reader state
     * (SourceReaderBase keys split states by id) and make the split reader read the shard twice.
     */
    static final class OwnedSplitsReader<T> extends KinesisStreamsSourceReader<T> {
        private final Set<String> owned = new HashSet<>();
        private final int subtask;

        OwnedSplitsReader(FutureCompletingBlockingQueue<RecordsWithSplitIds<Record>> queue,
                SingleThreadFetcherManager<Record, KinesisShardSplit> fetchers,
                KinesisStreamsRecordEmitter<T> emitter, Configuration config, SourceReaderContext ctx) {
            super(queue, fetchers, emitter, config, ctx);
            this.subtask = ctx.getIndexOfSubtask();
        }

        @Override
        public void addSplits(List<KinesisShardSplit> splits) {
            List<KinesisShardSplit> fresh = new ArrayList<>(splits.size());
            for (KinesisShardSplit split : splits) {
                if (owned.add(split.splitId())) {
                    LOG.info("Subtask {} reads shard {} from {}", subtask, split.getShardId(),
                            split.getStartingPosition());
                    fresh.add(split);
                } else {
                    LOG.warn("Subtask {} already reads shard {}: ignoring its second assignment (from {})",
                            subtask, split.getShardId(), split.getStartingPosition());
                }
            }
            if (!fresh.isEmpty()) {
                super.addSplits(fresh);
            }
        }

        @Override
        protected void onSplitFinished(Map<String, KinesisShardSplitState> finished) {
            super.onSplitFinished(finished);
            owned.removeAll(finished.keySet());
        }
    }

    /**
     * The connector's own client set-up (credentials, region, endpoint, user agent, Apache HTTP
     * client), through its private factory: pinned connector version, covered by the emulator tests.
     */
    private StreamProxy createProxy() {
        try {
            Method m = KinesisStreamsSource.class.getDeclaredMethod("createKinesisStreamProxy", Configuration.class);
            m.setAccessible(true);
            return (StreamProxy) m.invoke(connector, sourceConfig);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("flink-connector-kinesis changed: no KinesisStreamsSource."
                    + "createKinesisStreamProxy(Configuration); update PacedPollingSource", e);
        }
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, KinesisStreamsSourceEnumeratorState> createEnumerator(
            SplitEnumeratorContext<KinesisShardSplit> ctx) throws Exception {
        return restoreEnumerator(ctx, null);
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, KinesisStreamsSourceEnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<KinesisShardSplit> ctx, KinesisStreamsSourceEnumeratorState state)
            throws Exception {
        if (state != null) {
            LOG.info("Restoring the shard enumerator: last seen shard {}, {} unassigned splits",
                    state.getLastSeenShardId(), state.getUnassignedSplits().size());
        }
        // as KinesisStreamsSource.restoreEnumerator (default shard assigner), with the listing filter
        return new KinesisStreamsSourceEnumerator(ctx, streamArn, sourceConfig,
                new ShardsAfterLastSeen(createProxy()), ShardAssignerFactory.uniformShardAssigner(), state);
    }

    @Override
    public SimpleVersionedSerializer<KinesisShardSplit> getSplitSerializer() {
        return connector.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KinesisStreamsSourceEnumeratorState> getEnumeratorCheckpointSerializer() {
        return connector.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return deserializer.getProducedType();
    }
}
