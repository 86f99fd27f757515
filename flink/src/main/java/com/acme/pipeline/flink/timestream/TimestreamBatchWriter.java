package com.acme.pipeline.flink.timestream;

import com.acme.pipeline.flink.model.CustomerWindowCount;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.SimpleCounter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.timestreamwrite.TimestreamWriteClient;
import software.amazon.awssdk.services.timestreamwrite.model.Dimension;
import software.amazon.awssdk.services.timestreamwrite.model.InternalServerException;
import software.amazon.awssdk.services.timestreamwrite.model.MeasureValueType;
import software.amazon.awssdk.services.timestreamwrite.model.Record;
import software.amazon.awssdk.services.timestreamwrite.model.RejectedRecord;
import software.amazon.awssdk.services.timestreamwrite.model.RejectedRecordsException;
import software.amazon.awssdk.services.timestreamwrite.model.ThrottlingException;
import software.amazon.awssdk.services.timestreamwrite.model.TimeUnit;
import software.amazon.awssdk.services.timestreamwrite.model.WriteRecordsRequest;
import software.amazon.awssdk.services.timestreamwrite.model.WriteRecordsResponse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Buffers aggregates and writes them to Timestream in WriteRecords calls of at most
 * {@value #MAX_BATCH} records.
 *
 * <p>Policy:
 * <ul>
 *   <li>Throttling, internal server errors and client-side I/O errors are retried, at most
 *       {@code maxAttempts} attempts per batch with exponential backoff; after that the write fails
 *       (the job fails and restarts from its last checkpoint).</li>
 *   <li>RejectedRecordsException: the rejected records are logged (index, reason) and counted in
 *       {@code timestreamRejectedRecords}; they are not retried (a retry would be rejected again),
 *       and the job goes on. The other records of the batch were written.</li>
 *   <li>Any other error (validation, access denied, missing table, ...) fails the write at once.</li>
 * </ul>
 * Records: dimension {@code customer_id}, measure {@code event_count} (BIGINT), time = window start
 * (ms), version = count, so a re-fired window (allowed lateness) or a replay after restore upserts.
 */
public class TimestreamBatchWriter {
    private static final Logger LOG = LoggerFactory.getLogger(TimestreamBatchWriter.class);

    public static final int MAX_BATCH = 100;
    public static final String MEASURE_NAME = "event_count";

    /** Sleeps between retries; replaceable in tests. */
    public interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private final TimestreamWriteClient client;
    private final String database;
    private final String table;
    private final int maxAttempts;
    private final long baseBackoffMillis;
    private final long maxBackoffMillis;
    private final Sleeper sleeper;
    private final Counter written;
    private final Counter rejected;
    private final List<Record> buffer = new ArrayList<>(MAX_BATCH);

    public TimestreamBatchWriter(TimestreamWriteClient client, String database, String table, int maxAttempts,
            long baseBackoffMillis, long maxBackoffMillis, Sleeper sleeper, Counter written, Counter rejected) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1");
        }
        this.client = client;
        this.database = database;
        this.table = table;
        this.maxAttempts = maxAttempts;
        this.baseBackoffMillis = baseBackoffMillis;
        this.maxBackoffMillis = maxBackoffMillis;
        this.sleeper = sleeper;
        this.written = written == null ? new SimpleCounter() : written;
        this.rejected = rejected == null ? new SimpleCounter() : rejected;
    }

    public static Record toRecord(CustomerWindowCount c) {
        return Record.builder()
                .dimensions(Dimension.builder().name("customer_id").value(c.customerId).build())
                .measureName(MEASURE_NAME)
                .measureValue(Long.toString(c.count))
                .measureValueType(MeasureValueType.BIGINT)
                .time(Long.toString(c.windowStart))
                .timeUnit(TimeUnit.MILLISECONDS)
                .version(Math.max(1L, c.count))
                .build();
    }

    public int buffered() {
        return buffer.size();
    }

    /** Adds one aggregate; writes a full batch when {@value #MAX_BATCH} are buffered. */
    public void add(CustomerWindowCount c) throws IOException, InterruptedException {
        buffer.add(toRecord(c));
        if (buffer.size() >= MAX_BATCH) {
            flush();
        }
    }

    /** Writes everything buffered, in batches of at most {@value #MAX_BATCH}. */
    public void flush() throws IOException, InterruptedException {
        while (!buffer.isEmpty()) {
            int n = Math.min(MAX_BATCH, buffer.size());
            List<Record> batch = new ArrayList<>(buffer.subList(0, n));
            writeBatch(batch);
            buffer.subList(0, n).clear();
        }
    }

    private void writeBatch(List<Record> batch) throws IOException, InterruptedException {
        WriteRecordsRequest request = WriteRecordsRequest.builder()
                .databaseName(database).tableName(table).records(batch).build();
        for (int attempt = 1; ; attempt++) {
            try {
                WriteRecordsResponse ignored = client.writeRecords(request);
                written.inc(batch.size());
                return;
            } catch (RejectedRecordsException e) {
                List<RejectedRecord> rejectedRecords = e.rejectedRecords();
                for (RejectedRecord r : rejectedRecords) {
                    Record rec = r.recordIndex() != null && r.recordIndex() < batch.size()
                            ? batch.get(r.recordIndex()) : null;
                    LOG.warn("Timestream rejected record {} ({}): {}{}", r.recordIndex(), rec, r.reason(),
                            r.existingVersion() != null ? " (existing version " + r.existingVersion() + ")" : "");
                }
                rejected.inc(rejectedRecords.size());
                written.inc(Math.max(0, batch.size() - rejectedRecords.size()));
                return;
            } catch (ThrottlingException | InternalServerException | SdkClientException e) {
                if (e instanceof SdkClientException && !isRetryableClientError((SdkClientException) e)) {
                    throw new IOException("Timestream write failed (not retryable): " + e.getMessage(), e);
                }
                if (attempt >= maxAttempts) {
                    throw new IOException("Timestream write failed after " + attempt + " attempts: " + e.getMessage(), e);
                }
                long backoff = Math.min(maxBackoffMillis, baseBackoffMillis << Math.min(attempt - 1, 20));
                LOG.info("Timestream write attempt {} failed ({}); retrying in {} ms", attempt, e.getMessage(), backoff);
                sleeper.sleep(backoff);
            } catch (RuntimeException e) {
                throw new IOException("Timestream write failed (not retryable): " + e.getMessage(), e);
            }
        }
    }

    private static boolean isRetryableClientError(SdkClientException e) {
        // SdkClientException that is a service exception would have been caught above as such;
        // this covers I/O failures (connection reset, timeouts).
        return e.retryable() || e.getCause() instanceof IOException;
    }
}
