package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.timestream.TimestreamBatchWriter;

import org.apache.flink.metrics.SimpleCounter;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.timestreamwrite.TimestreamWriteClient;
import software.amazon.awssdk.services.timestreamwrite.model.MeasureValueType;
import software.amazon.awssdk.services.timestreamwrite.model.Record;
import software.amazon.awssdk.services.timestreamwrite.model.RejectedRecord;
import software.amazon.awssdk.services.timestreamwrite.model.RejectedRecordsException;
import software.amazon.awssdk.services.timestreamwrite.model.ThrottlingException;
import software.amazon.awssdk.services.timestreamwrite.model.ValidationException;
import software.amazon.awssdk.services.timestreamwrite.model.WriteRecordsRequest;
import software.amazon.awssdk.services.timestreamwrite.model.WriteRecordsResponse;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimestreamBatchWriterTest {
    /** Records requests; answers with scripted failures first, then success. */
    static final class FakeClient implements TimestreamWriteClient {
        final List<WriteRecordsRequest> requests = new ArrayList<>();
        final Deque<Supplier<RuntimeException>> failures = new ArrayDeque<>();

        @Override
        public WriteRecordsResponse writeRecords(WriteRecordsRequest request) {
            requests.add(request);
            Supplier<RuntimeException> f = failures.poll();
            if (f != null) {
                throw f.get();
            }
            return WriteRecordsResponse.builder().build();
        }

        @Override
        public String serviceName() {
            return "timestream";
        }

        @Override
        public void close() {}
    }

    private final FakeClient client = new FakeClient();
    private final List<Long> sleeps = new ArrayList<>();
    private final SimpleCounter written = new SimpleCounter();
    private final SimpleCounter rejected = new SimpleCounter();
    private final TimestreamBatchWriter writer =
            new TimestreamBatchWriter(client, "db", "tbl", 4, 100, 250, sleeps::add, written, rejected);

    private static CustomerWindowCount agg(int i) {
        return new CustomerWindowCount("c" + i, 300_000L * i, 300_000L * (i + 1), i + 1);
    }

    @Test
    void batchesOfAtMost100() throws Exception {
        for (int i = 0; i < 250; i++) {
            writer.add(agg(i));
        }
        assertThat(client.requests).hasSize(2); // two full batches written as they filled
        writer.flush();
        assertThat(client.requests).extracting(r -> r.records().size()).containsExactly(100, 100, 50);
        assertThat(written.getCount()).isEqualTo(250);
        Record r = client.requests.get(0).records().get(3);
        assertThat(r.dimensions().get(0).name()).isEqualTo("customer_id");
        assertThat(r.dimensions().get(0).value()).isEqualTo("c3");
        assertThat(r.measureValueType()).isEqualTo(MeasureValueType.BIGINT);
        assertThat(r.measureValue()).isEqualTo("4");
        assertThat(r.time()).isEqualTo("900000");
        assertThat(r.version()).isEqualTo(4L);
        assertThat(client.requests.get(0).databaseName()).isEqualTo("db");
        assertThat(client.requests.get(0).tableName()).isEqualTo("tbl");
    }

    @Test
    void throttlingIsRetriedWithBoundedBackoff() throws Exception {
        client.failures.add(() -> ThrottlingException.builder().message("slow down").build());
        client.failures.add(() -> SdkClientException.builder().message("reset").cause(new IOException("reset")).build());
        client.failures.add(() -> ThrottlingException.builder().message("slow down").build());
        writer.add(agg(1));
        writer.flush();
        assertThat(client.requests).hasSize(4);
        assertThat(sleeps).containsExactly(100L, 200L, 250L);
        assertThat(written.getCount()).isEqualTo(1);
    }

    @Test
    void givesUpAfterMaxAttempts() throws Exception {
        for (int i = 0; i < 4; i++) {
            client.failures.add(() -> ThrottlingException.builder().message("slow down").build());
        }
        writer.add(agg(1));
        assertThatThrownBy(writer::flush).isInstanceOf(IOException.class).hasMessageContaining("after 4 attempts");
        assertThat(client.requests).hasSize(4);
        assertThat(written.getCount()).isZero();
    }

    @Test
    void rejectedRecordsAreCountedNotRetried() throws Exception {
        client.failures.add(() -> RejectedRecordsException.builder().message("rejected")
                .rejectedRecords(RejectedRecord.builder().recordIndex(1).reason("too old").build())
                .build());
        writer.add(agg(1));
        writer.add(agg(2));
        writer.add(agg(3));
        writer.flush();
        assertThat(client.requests).hasSize(1);
        assertThat(rejected.getCount()).isEqualTo(1);
        assertThat(written.getCount()).isEqualTo(2);
        assertThat(writer.buffered()).isZero();
    }

    @Test
    void nonRetryableErrorFailsAtOnce() throws Exception {
        client.failures.add(() -> ValidationException.builder().message("bad table").build());
        writer.add(agg(1));
        assertThatThrownBy(writer::flush).isInstanceOf(IOException.class).hasMessageContaining("not retryable");
        assertThat(client.requests).hasSize(1);
        assertThat(sleeps).isEmpty();
    }
}
