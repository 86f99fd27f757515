package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.io.KinesisIo;
import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.timestream.TimestreamSink;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;

/**
 * Entry point: Kinesis ingest stream -> per-customer tumbling event-time window counts -> Kinesis
 * output stream (and optionally Timestream).
 *
 * <p>Run with no arguments on Managed Service for Apache Flink (configuration from the runtime
 * property group {@code pipeline}); locally with {@code --config path.json}.
 */
public final class AggregatorJob {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorJob.class);

    /** Local runs only; on Managed Flink the application's checkpoint configuration applies. */
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
     * Exactly-once checkpoints and an exponential-delay restart strategy.
     *
     * <p>Checkpointing comes from the runtime configuration when it has it: Managed Flink writes the
     * application's CheckpointConfiguration (the component's {@code checkpoint_interval_ms},
     * {@code min_pause_between_checkpoints_ms}) into the cluster configuration as
     * {@code execution.checkpointing.interval} / {@code .min-pause}, and a value set in code would
     * override it. Only a key the runtime does not provide is set here: {@code localInterval} (and a
     * minimum pause of min(5 s, interval / 2)) for local runs and tests, EXACTLY_ONCE when no mode is
     * given. What applied is logged at start-up.
     */
    public static void configureEnvironment(StreamExecutionEnvironment env, Duration localInterval) {
        ReadableConfig runtime = env.getConfiguration();
        Optional<Duration> interval = runtime.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL);
        Optional<Duration> minPause = runtime.getOptional(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS);
        Optional<CheckpointingMode> mode = runtime.getOptional(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE);
        CheckpointConfig checkpoints = env.getCheckpointConfig();
        if (interval.isEmpty()) {
            checkpoints.setCheckpointInterval(localInterval.toMillis());
        }
        if (minPause.isEmpty()) {
            long effective = interval.orElse(localInterval).toMillis();
            checkpoints.setMinPauseBetweenCheckpoints(Math.min(CHECKPOINT_MIN_PAUSE.toMillis(), effective / 2));
        }
        if (mode.isEmpty()) {
            checkpoints.setCheckpointingConsistencyMode(CheckpointingMode.EXACTLY_ONCE);
        }
        LOG.info("Checkpointing: interval {} ms ({}), min pause {} ms ({}), mode {} ({})",
                checkpoints.getCheckpointInterval(), interval.isPresent() ? "runtime configuration" : "job default",
                checkpoints.getMinPauseBetweenCheckpoints(), minPause.isPresent() ? "runtime configuration" : "job default",
                checkpoints.getCheckpointingConsistencyMode(), mode.isPresent() ? "runtime configuration" : "job default");
        // No operator keeps a reference to a record it was given, or changes one another operator
        // still reads: chained operators may pass objects on instead of copying them.
        env.getConfig().enableObjectReuse();
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
