package com.acme.pipeline.flink;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End of a side output: counts every record in a metric ({@code kinesisanalytics.<name>}, exported
 * by Managed Flink to CloudWatch) and logs a sample (the first 10, then every 1000th) at WARN.
 */
public class CountingLogSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(CountingLogSink.class);

    private final String counterName;
    private final String description;

    public CountingLogSink(String counterName, String description) {
        this.counterName = counterName;
        this.description = description;
    }

    @Override
    @Deprecated
    public SinkWriter<T> createWriter(InitContext context) {
        throw new UnsupportedOperationException("use createWriter(WriterInitContext)");
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        Counter counter = context.metricGroup().addGroup(AggregationPipeline.METRIC_GROUP).counter(counterName);
        return new SinkWriter<T>() {
            private long seen;

            @Override
            public void write(T element, Context ctx) {
                counter.inc();
                seen++;
                if (seen <= 10 || seen % 1000 == 0) {
                    LOG.warn("{} #{} (subtask total so far): {}", description, seen, element);
                }
            }

            @Override
            public void flush(boolean endOfInput) {}

            @Override
            public void close() {}
        };
    }
}
