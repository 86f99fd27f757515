package com.acme.pipeline.flink.testutil;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
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

/**
 * Keeps every counter and gauge a MiniCluster registers under the {@code kinesisanalytics} group
 * (by metric name), so tests can read real metrics and the scope Managed Flink turns into dimensions.
 */
public class CounterCollectingReporter implements MetricReporter {
    private static final Map<String, List<Counter>> COUNTERS = new ConcurrentHashMap<>();
    private static final List<RegisteredGauge> GAUGES = new CopyOnWriteArrayList<>();

    /** A gauge under the {@code kinesisanalytics} group, with its scope variables (key/value groups). */
    public static final class RegisteredGauge {
        public final String name;
        public final String identifier;
        public final Map<String, String> variables;
        public final Gauge<?> gauge;

        RegisteredGauge(String name, String identifier, Map<String, String> variables, Gauge<?> gauge) {
            this.name = name;
            this.identifier = identifier;
            this.variables = variables;
            this.gauge = gauge;
        }
    }

    public static List<RegisteredGauge> gauges(String name) {
        List<RegisteredGauge> out = new java.util.ArrayList<>();
        for (RegisteredGauge g : GAUGES) {
            if (g.name.equals(name)) {
                out.add(g);
            }
        }
        return out;
    }

    public static void addTo(Configuration conf) {
        conf.setString("metrics.reporter.collect.factory.class", Factory.class.getName());
    }

    public static void reset() {
        COUNTERS.clear();
        GAUGES.clear();
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
        if (metric instanceof Gauge && group.getMetricIdentifier(name).contains(".kinesisanalytics.")) {
            GAUGES.add(new RegisteredGauge(name, group.getMetricIdentifier(name), Map.copyOf(group.getAllVariables()),
                    (Gauge<?>) metric));
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
