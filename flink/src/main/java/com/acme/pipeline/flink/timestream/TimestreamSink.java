package com.acme.pipeline.flink.timestream;

import com.acme.pipeline.flink.AggregationPipeline;
import com.acme.pipeline.flink.model.CustomerWindowCount;

import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.MetricGroup;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.timestreamwrite.TimestreamWriteClient;
import software.amazon.awssdk.services.timestreamwrite.TimestreamWriteClientBuilder;

import java.io.IOException;
import java.net.URI;

/**
 * Optional Timestream sink for aggregates. At-least-once: the buffer is written before every
 * checkpoint (and at most {@link #FLUSH_INTERVAL_MS} after the first buffered record); replays are
 * idempotent upserts (see {@link TimestreamBatchWriter}).
 */
public class TimestreamSink implements Sink<CustomerWindowCount> {
    private static final long serialVersionUID = 1L;

    public static final long FLUSH_INTERVAL_MS = 5_000;
    public static final int MAX_ATTEMPTS = 5;

    private final String region;
    private final String endpointUrl;
    private final String database;
    private final String table;

    public TimestreamSink(String region, String endpointUrl, String database, String table) {
        this.region = region;
        this.endpointUrl = endpointUrl;
        this.database = database;
        this.table = table;
    }

    @Override
    @Deprecated
    public SinkWriter<CustomerWindowCount> createWriter(InitContext context) {
        throw new UnsupportedOperationException("use createWriter(WriterInitContext)");
    }

    @Override
    public SinkWriter<CustomerWindowCount> createWriter(WriterInitContext context) {
        TimestreamWriteClientBuilder b = TimestreamWriteClient.builder()
                .region(Region.of(region))
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                // retries are done (bounded, with backoff) by TimestreamBatchWriter
                .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()));
        if (endpointUrl != null) {
            b.endpointOverride(URI.create(endpointUrl));
        }
        TimestreamWriteClient client = b.build();
        MetricGroup metrics = context.metricGroup().addGroup(AggregationPipeline.METRIC_GROUP);
        TimestreamBatchWriter writer = new TimestreamBatchWriter(client, database, table, MAX_ATTEMPTS, 200, 5_000,
                Thread::sleep, metrics.counter("timestreamRecordsWritten"), metrics.counter("timestreamRejectedRecords"));
        return new Writer(client, writer, context.getProcessingTimeService());
    }

    static final class Writer implements SinkWriter<CustomerWindowCount> {
        private final TimestreamWriteClient client;
        private final TimestreamBatchWriter writer;
        private final ProcessingTimeService time;
        private boolean timerPending;
        private volatile IOException timerFailure;

        Writer(TimestreamWriteClient client, TimestreamBatchWriter writer, ProcessingTimeService time) {
            this.client = client;
            this.writer = writer;
            this.time = time;
        }

        @Override
        public void write(CustomerWindowCount element, Context context) throws IOException, InterruptedException {
            rethrowTimerFailure();
            writer.add(element);
            if (writer.buffered() > 0 && !timerPending) {
                timerPending = true;
                time.registerTimer(time.getCurrentProcessingTime() + FLUSH_INTERVAL_MS, ts -> {
                    timerPending = false;
                    try {
                        writer.flush();
                    } catch (IOException e) {
                        timerFailure = e;
                        throw e;
                    }
                });
            }
        }

        @Override
        public void flush(boolean endOfInput) throws IOException, InterruptedException {
            rethrowTimerFailure();
            writer.flush();
        }

        private void rethrowTimerFailure() throws IOException {
            if (timerFailure != null) {
                throw timerFailure;
            }
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
