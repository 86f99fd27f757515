package com.acme.pipeline.flink.io;

import com.acme.pipeline.flink.AggregationPipeline;
import com.acme.pipeline.flink.RawEventDeserializationSchema;
import com.acme.pipeline.flink.config.PipelineConfig;
import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.watermark.EfoShardWatermarks;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.connector.kinesis.source.KinesisStreamsSource;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.connectors.kinesis.FlinkKinesisConsumer;
import org.apache.flink.streaming.connectors.kinesis.config.ConsumerConfigConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.KinesisClientBuilder;
import software.amazon.awssdk.services.kinesis.model.DescribeStreamConsumerRequest;

import java.net.URI;
import java.util.Properties;

/**
 * Kinesis source and sink.
 *
 * <p>POLLING uses the FLIP-27 {@link KinesisStreamsSource} with a paced reader
 * ({@link PacedPollingSource}) and per-shard watermarks. EFO uses the
 * connector's {@link FlinkKinesisConsumer} with the enhanced fan-out record publisher, because the
 * {@code KinesisStreamsSource} of the connector release available here (4.3.0-1.19) has no EFO
 * reader (it arrived in 5.0.0). The EFO consumer is registered by the infrastructure; the job looks
 * its ARN up by name at start-up and never registers or deregisters it.
 */
public final class KinesisIo {
    private static final Logger LOG = LoggerFactory.getLogger(KinesisIo.class);

    /** Connector keys (same strings in the shaded AWS base config of the connector). */
    static final String AWS_REGION = "aws.region";
    static final String AWS_ENDPOINT = "aws.endpoint";
    static final String HTTP_PROTOCOL_VERSION = "aws.http.protocol.version";

    private KinesisIo() {}

    public static DataStream<RawEvent> source(StreamExecutionEnvironment env, PipelineConfig cfg) {
        if (cfg.reader == PipelineConfig.Reader.POLLING) {
            // FLIP-27: one watermark generator per split (shard), combined by the source operator
            WatermarkStrategy<RawEvent> watermarks =
                    AggregationPipeline.watermarkStrategy(cfg.outOfOrderness(), cfg.idleness());
            return env.fromSource(pollingSource(cfg), watermarks, "kinesis-source", TypeInformation.of(RawEvent.class))
                    .uid(POLLING_SOURCE_UID);
        }
        String consumerArn = lookUpEfoConsumerArn(cfg);
        // per-shard watermarks right after the consumer (same task), from the shard id of each record
        return env.addSource(efoConsumer(cfg, consumerArn), "kinesis-source-efo")
                .uid(EFO_SOURCE_UID)
                .transform("efo-shard-watermarks", TypeInformation.of(RawEvent.class),
                        new EfoShardWatermarks(cfg.outOfOrderness(), cfg.idleness()))
                .uid("kinesis-source-efo-watermarks");
    }

    /** Operator uids of the two readers: switching reader changes the source operator (README). */
    public static final String POLLING_SOURCE_UID = "kinesis-source-polling";
    public static final String EFO_SOURCE_UID = "kinesis-source-efo";

    public static Configuration pollingSourceConfig(PipelineConfig cfg) {
        Configuration c = new Configuration();
        c.setString(AWS_REGION, cfg.region);
        if (cfg.endpointUrl != null) {
            c.setString(AWS_ENDPOINT, cfg.endpointUrl);
        }
        c.set(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION,
                KinesisStreamsSourceConfigConstants.InitialPosition.valueOf(cfg.initialPosition.name()));
        return c;
    }

    /** The connector's KinesisStreamsSource with the paced reader ({@link PacedPollingSource}). */
    public static PacedPollingSource<RawEvent> pollingSource(PipelineConfig cfg) {
        RawEventDeserializationSchema schema = new RawEventDeserializationSchema(cfg.maxFutureSkew());
        Configuration sourceConfig = pollingSourceConfig(cfg);
        KinesisStreamsSource<RawEvent> connector = KinesisStreamsSource.<RawEvent>builder()
                .setStreamArn(cfg.inputStreamArn)
                .setSourceConfig(sourceConfig)
                .setDeserializationSchema(schema)
                .build();
        return new PacedPollingSource<>(connector, cfg.inputStreamArn, sourceConfig, schema, cfg.pollingInterval(),
                PacedPollingSource.lagMetricId(PipelineConfig.streamName(cfg.inputStreamArn)));
    }

    public static Properties efoConsumerProperties(PipelineConfig cfg, String consumerArn) {
        String stream = PipelineConfig.streamName(cfg.inputStreamArn);
        Properties p = new Properties();
        p.setProperty(AWS_REGION, cfg.region);
        if (cfg.endpointUrl != null) {
            p.setProperty(AWS_ENDPOINT, cfg.endpointUrl);
        }
        p.setProperty(ConsumerConfigConstants.STREAM_INITIAL_POSITION, cfg.initialPosition.name());
        p.setProperty(ConsumerConfigConstants.RECORD_PUBLISHER_TYPE, "EFO");
        p.setProperty(ConsumerConfigConstants.EFO_CONSUMER_NAME, cfg.efoConsumerName);
        p.setProperty(ConsumerConfigConstants.EFO_REGISTRATION_TYPE, "NONE");
        p.setProperty(ConsumerConfigConstants.efoConsumerArn(stream), consumerArn);
        return p;
    }

    static FlinkKinesisConsumer<RawEvent> efoConsumer(PipelineConfig cfg, String consumerArn) {
        return new FlinkKinesisConsumer<>(PipelineConfig.streamName(cfg.inputStreamArn),
                new EfoRecordDeserializer(cfg.maxFutureSkew()), efoConsumerProperties(cfg, consumerArn));
    }

    /** DescribeStreamConsumer by stream ARN and consumer name (needs kinesis:DescribeStreamConsumer). */
    static String lookUpEfoConsumerArn(PipelineConfig cfg) {
        KinesisClientBuilder b = KinesisClient.builder()
                .region(Region.of(cfg.region))
                .httpClientBuilder(UrlConnectionHttpClient.builder());
        if (cfg.endpointUrl != null) {
            b.endpointOverride(URI.create(cfg.endpointUrl));
        }
        try (KinesisClient kinesis = b.build()) {
            String arn = kinesis.describeStreamConsumer(DescribeStreamConsumerRequest.builder()
                            .streamARN(cfg.inputStreamArn)
                            .consumerName(cfg.efoConsumerName)
                            .build())
                    .consumerDescription()
                    .consumerARN();
            LOG.info("Using EFO consumer {} ({})", cfg.efoConsumerName, arn);
            return arn;
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot find EFO consumer '" + cfg.efoConsumerName + "' (configuration key "
                    + PipelineConfig.INPUT_EFO_CONSUMER_NAME + ") on stream " + cfg.inputStreamArn
                    + "; it must be registered before the job starts: " + e.getMessage(), e);
        }
    }

    public static Properties sinkClientProperties(PipelineConfig cfg) {
        Properties p = new Properties();
        p.setProperty(AWS_REGION, cfg.region);
        if (cfg.endpointUrl != null) {
            p.setProperty(AWS_ENDPOINT, cfg.endpointUrl);
            if (cfg.endpointUrl.startsWith("http://")) {
                // plain-http local emulators speak HTTP/1.1 only; the sink's async client defaults to HTTP/2
                p.setProperty(HTTP_PROTOCOL_VERSION, "HTTP1_1");
            }
        }
        return p;
    }

    /** Output stream sink: JSON aggregate records, partition key customer_id. At-least-once. */
    public static KinesisStreamsSink<CustomerWindowCount> sink(PipelineConfig cfg) {
        return KinesisStreamsSink.<CustomerWindowCount>builder()
                .setStreamArn(cfg.outputStreamArn)
                .setStreamName(PipelineConfig.streamName(cfg.outputStreamArn))
                .setKinesisClientProperties(sinkClientProperties(cfg))
                .setSerializationSchema(EventJson::aggregateToJson)
                .setPartitionKeyGenerator(c -> c.customerId)
                .setFailOnError(false)
                .build();
    }
}
