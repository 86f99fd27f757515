package com.acme.pipeline.flink.testutil;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every counter a MiniCluster registers (by metric name), so tests can read real metrics. */
public class CounterCollectingReporter implements MetricReporter {
    private static final Map<String, List<Counter>> COUNTERS = new ConcurrentHashMap<>();

    public static void addTo(Configuration conf) {
        conf.setString("metrics.reporter.collect.factory.class", Factory.class.getName());
    }

    public static void reset() {
        COUNTERS.clear();
    }

    /** Sum over all subtasks of counters named {@code name} whose identifier contains {@code group}. */
    public static long sum(String name) {
        return COUNTERS.getOrDefault(name, List.of()).stream().mapToLong(Counter::getCount).sum();
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (metric instanceof Counter && group.getMetricIdentifier(name).contains(".kinesisanalytics.")) {
            COUNTERS.computeIfAbsent(name, k -> new CopyOnWriteArrayList<>()).add((Counter) metric);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        // keep: the test reads counters after the job finished
    }

    public static class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new CounterCollectingReporter();
        }
    }
}
