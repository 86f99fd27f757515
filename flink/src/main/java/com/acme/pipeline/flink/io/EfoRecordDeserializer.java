package com.acme.pipeline.flink.io;

import com.acme.pipeline.flink.RawEventDeserializationSchema;
import com.acme.pipeline.flink.model.RawEvent;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.connectors.kinesis.serialization.KinesisDeserializationSchema;

import java.time.Duration;

/**
 * EFO reader records: {@link RawEventDeserializationSchema} plus the shard id, which
 * {@link com.acme.pipeline.flink.watermark.EfoShardWatermarks} needs for per-shard watermarks.
 */
final class EfoRecordDeserializer implements KinesisDeserializationSchema<RawEvent> {
    private static final long serialVersionUID = 1L;
    private final RawEventDeserializationSchema schema;

    EfoRecordDeserializer(Duration maxFutureSkew) {
        this.schema = new RawEventDeserializationSchema(maxFutureSkew);
    }

    @Override
    public RawEvent deserialize(byte[] value, String partitionKey, String seqNum, long approxArrivalTimestamp,
            String stream, String shardId) {
        RawEvent e = schema.deserialize(value);
        e.shardId = shardId;
        return e;
    }

    @Override
    public TypeInformation<RawEvent> getProducedType() {
        return TypeInformation.of(RawEvent.class);
    }
}
