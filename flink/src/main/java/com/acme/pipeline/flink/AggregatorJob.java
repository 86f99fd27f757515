package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.io.KinesisIo;
import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.timestream.TimestreamSink;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * Entry point: Kinesis ingest stream -> per-customer tumbling event-time window counts -> Kinesis
 * output stream (and optionally Timestream).
 *
 * <p>Run with no arguments on Managed Service for Apache Flink (configuration from the runtime
 * property group {@code pipeline}); locally with {@code --config path.json}.
 */
public final class AggregatorJob {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorJob.class);

    public static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(60);
    public static final Duration CHECKPOINT_MIN_PAUSE = Duration.ofSeconds(5);

    private AggregatorJob() {}

    public static void main(String[] args) throws Exception {
        PipelineConfig cfg = PipelineConfig.load(args);
        LOG.info("Starting with {}", cfg);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        configureEnvironment(env, CHECKPOINT_INTERVAL);
        buildJob(env, cfg);
        env.execute("flink-aggregator");
    }

    /**
     * Exactly-once checkpoints and an exponential-delay restart strategy. On Managed Flink the
     * service's checkpoint settings (application configuration) take precedence when its
     * CheckpointConfiguration is DEFAULT.
     */
    public static void configureEnvironment(StreamExecutionEnvironment env, Duration checkpointInterval) {
        env.enableCheckpointing(checkpointInterval.toMillis(), CheckpointingMode.EXACTLY_ONCE);
        env.getCheckpointConfig().setMinPauseBetweenCheckpoints(
                Math.min(CHECKPOINT_MIN_PAUSE.toMillis(), checkpointInterval.toMillis() / 2));
        Configuration restart = new Configuration();
        restart.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        restart.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF, Duration.ofSeconds(1));
        restart.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF, Duration.ofMinutes(1));
        restart.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER, 2.0);
        restart.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                Duration.ofMinutes(10));
        restart.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR, 0.1);
        env.configure(restart);
    }

    /** Source, aggregation and sinks, as configured. */
    public static AggregationPipeline.Outputs buildJob(StreamExecutionEnvironment env, PipelineConfig cfg) {
        DataStream<RawEvent> events = KinesisIo.source(env, cfg);
        AggregationPipeline.Outputs out = AggregationPipeline.build(events,
                new AggregationPipeline.Settings(cfg.windowSize(), cfg.allowedLateness()));
        out.aggregates.sinkTo(KinesisIo.sink(cfg)).name("kinesis-output").uid("kinesis-output");
        if (cfg.timestreamEnabled) {
            out.aggregates.sinkTo(new TimestreamSink(cfg.region, cfg.endpointUrl, cfg.timestreamDatabase,
                            cfg.timestreamTable))
                    .name("timestream").uid("timestream");
        }
        return out;
    }
}
