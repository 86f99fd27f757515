package com.acme.pipeline.flink.model;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;

/**
 * A hand-written serializer for {@link RawEvent} (instead of Flink's reflective POJO serializer):
 * the record crosses the keyBy once per event, so its wire format is the job's hottest path.
 * Format: flags byte (bit 0 customer present, 1 future, 2 malformed present, 3 shard present), then
 * the present strings (Flink's StringValue encoding), the event time and the count.
 * RawEvent is never kept in state, so the format can change between releases.
 */
public class RawEventTypeInfoFactory extends TypeInfoFactory<RawEvent> {
    @Override
    public TypeInformation<RawEvent> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
        return new RawEventTypeInfo();
    }

    public static final class RawEventTypeInfo extends TypeInformation<RawEvent> {
        private static final long serialVersionUID = 1L;

        @Override public boolean isBasicType() { return false; }
        @Override public boolean isTupleType() { return false; }
        @Override public int getArity() { return 1; }
        @Override public int getTotalFields() { return 1; }
        @Override public Class<RawEvent> getTypeClass() { return RawEvent.class; }
        @Override public boolean isKeyType() { return false; }

        @Override
        public TypeSerializer<RawEvent> createSerializer(SerializerConfig config) {
            return Serializer.INSTANCE;
        }

        @Override
        @Deprecated
        public TypeSerializer<RawEvent> createSerializer(ExecutionConfig config) {
            return Serializer.INSTANCE;
        }

        @Override public String toString() { return "RawEvent"; }
        @Override public boolean equals(Object o) { return o instanceof RawEventTypeInfo; }
        @Override public int hashCode() { return RawEventTypeInfo.class.hashCode(); }
        @Override public boolean canEqual(Object o) { return o instanceof RawEventTypeInfo; }
    }

    public static final class Serializer extends TypeSerializerSingleton<RawEvent> {
        private static final long serialVersionUID = 1L;
        public static final Serializer INSTANCE = new Serializer();

        @Override public boolean isImmutableType() { return false; }
        @Override public RawEvent createInstance() { return new RawEvent(); }

        @Override
        public RawEvent copy(RawEvent from) {
            RawEvent e = new RawEvent(from.customerId, from.eventTime);
            e.malformed = from.malformed;
            e.future = from.future;
            e.shardId = from.shardId;
            e.count = from.count;
            return e;
        }

        @Override public RawEvent copy(RawEvent from, RawEvent reuse) { return copy(from); }
        @Override public int getLength() { return -1; }

        @Override
        public void serialize(RawEvent e, DataOutputView out) throws IOException {
            int flags = (e.customerId != null ? 1 : 0) | (e.future ? 2 : 0) | (e.malformed != null ? 4 : 0)
                    | (e.shardId != null ? 8 : 0);
            out.writeByte(flags);
            if (e.customerId != null) {
                StringValue.writeString(e.customerId, out);
            }
            out.writeLong(e.eventTime);
            out.writeLong(e.count);
            if (e.malformed != null) {
                StringValue.writeString(e.malformed, out);
            }
            if (e.shardId != null) {
                StringValue.writeString(e.shardId, out);
            }
        }

        @Override
        public RawEvent deserialize(DataInputView in) throws IOException {
            int flags = in.readByte();
            RawEvent e = new RawEvent();
            if ((flags & 1) != 0) {
                e.customerId = StringValue.readString(in);
            }
            e.eventTime = in.readLong();
            e.count = in.readLong();
            e.future = (flags & 2) != 0;
            if ((flags & 4) != 0) {
                e.malformed = StringValue.readString(in);
            }
            if ((flags & 8) != 0) {
                e.shardId = StringValue.readString(in);
            }
            return e;
        }

        @Override public RawEvent deserialize(RawEvent reuse, DataInputView in) throws IOException { return deserialize(in); }

        @Override
        public void copy(DataInputView source, DataOutputView target) throws IOException {
            serialize(deserialize(source), target);
        }

        @Override
        public TypeSerializerSnapshot<RawEvent> snapshotConfiguration() {
            return new Snapshot();
        }
    }

    public static final class Snapshot extends SimpleTypeSerializerSnapshot<RawEvent> {
        public Snapshot() {
            super(() -> Serializer.INSTANCE);
        }
    }
}
