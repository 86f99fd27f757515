package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.tasks.CheckpointCoordinatorConfiguration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which checkpoint settings apply: a MiniCluster is started with the cluster configuration Managed
 * Flink derives from the application's CUSTOM CheckpointConfiguration
 * ({@code execution.checkpointing.interval}, {@code execution.checkpointing.min-pause}); the job's
 * environment is created from that configuration (as in application mode), configured by
 * {@link AggregatorJob#configureEnvironment} and submitted; the running job's checkpoint coordinator
 * configuration is then read back from the cluster.
 */
class CheckpointConfigResolutionTest {

    private static CheckpointCoordinatorConfiguration effective(Configuration cluster) throws Exception {
        Configuration mc = new Configuration(cluster);
        try (MiniCluster miniCluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(mc).setNumTaskManagers(1).setNumSlotsPerTaskManager(1).build())) {
            miniCluster.start();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration(cluster));
            env.setParallelism(1);
            AggregatorJob.configureEnvironment(env, AggregatorJob.CHECKPOINT_INTERVAL);
            DataGeneratorSource<byte[]> source = new DataGeneratorSource<>(
                    i -> ("{\"customer_id\":\"c1\",\"timestamp\":\"2024-05-01T00:00:00Z\"}").getBytes(StandardCharsets.UTF_8),
                    Long.MAX_VALUE, RateLimiterStrategy.perSecond(10), PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
            AggregationPipeline.build(env.fromSource(source, WatermarkStrategy.noWatermarks(), "gen")
                            .map(RawEventDeserializationSchema::parse).returns(RawEvent.class)
                            .assignTimestampsAndWatermarks(
                                    AggregationPipeline.watermarkStrategy(Duration.ZERO, Duration.ofSeconds(60))),
                    new AggregationPipeline.Settings(Duration.ofMinutes(5), Duration.ZERO))
                    .aggregates.sinkTo(new DiscardingSink<>());
            JobGraph graph = env.getStreamGraph().getJobGraph();
            JobID id = miniCluster.submitJob(graph).get().getJobID();
            try {
                return miniCluster.getExecutionGraph(id).get().getCheckpointCoordinatorConfiguration();
            } finally {
                miniCluster.cancelJob(id).get();
            }
        }
    }

    @Test
    void managedFlinkCheckpointConfigurationWinsOverTheJobDefaults() throws Exception {
        // component variables checkpoint_interval_ms = 12345, min_pause_between_checkpoints_ms = 2345
        Configuration managedFlink = new Configuration();
        managedFlink.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(12_345));
        managedFlink.set(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS, Duration.ofMillis(2_345));
        CheckpointCoordinatorConfiguration c = effective(managedFlink);
        assertThat(c.getCheckpointInterval()).isEqualTo(12_345);
        assertThat(c.getMinPauseBetweenCheckpoints()).isEqualTo(2_345);
        assertThat(c.isExactlyOnce()).isTrue();
    }

    @Test
    void withoutRuntimeConfigurationTheJobDefaultsApply() throws Exception {
        CheckpointCoordinatorConfiguration c = effective(new Configuration());
        assertThat(c.getCheckpointInterval()).isEqualTo(AggregatorJob.CHECKPOINT_INTERVAL.toMillis());
        assertThat(c.getMinPauseBetweenCheckpoints()).isEqualTo(AggregatorJob.CHECKPOINT_MIN_PAUSE.toMillis());
        assertThat(c.isExactlyOnce()).isTrue();
    }

    @Test
    void aRuntimeModeIsKept() throws Exception {
        Configuration managedFlink = new Configuration();
        managedFlink.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(30_000));
        managedFlink.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.AT_LEAST_ONCE);
        CheckpointCoordinatorConfiguration c = effective(managedFlink);
        assertThat(c.getCheckpointInterval()).isEqualTo(30_000);
        assertThat(c.getMinPauseBetweenCheckpoints()).as("min(5 s, interval / 2)").isEqualTo(5_000);
        assertThat(c.isExactlyOnce()).isFalse();
    }
}
