import com.acme.pipeline.flink.AggregatorJob;
import com.acme.pipeline.flink.config.PipelineConfig;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.RestoredCheckpointStats;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The deployed Flink job (the shaded jar's AggregatorJob.buildJob, unchanged) on a MiniCluster of
 * two TaskManagers with one slot each, driven over stdin/stdout by scripts/pipeline-local/flink.ts:
 *
 *   args: <config.json> <state dir> <checkpoint interval s> <parallelism>
 *   stdin:  status | kill-tm | stop            stdout: one JSON line per answer, prefixed "@@ "
 *
 * kill-tm terminates TaskManager 0 (its subtasks fail; the job restarts from the last completed
 * checkpoint under the job's own restart strategy) and starts a replacement TaskManager. stop is
 * stop-with-savepoint --drain: the sources emit MAX_WATERMARK, so every window fires, then the
 * job finishes.
 */
public final class LocalFlinkRunner {
    static final Map<String, Counter> LIVE = new ConcurrentHashMap<>();
    static final Map<String, Long> RETIRED = new ConcurrentHashMap<>();

    /** Collects the job's kinesisanalytics.* counters (late, malformed) across subtasks. */
    public static final class Reporter implements MetricReporter {
        @Override public void open(MetricConfig config) {}
        @Override public void close() {}
        @Override public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
            if (metric instanceof Counter && group.getMetricIdentifier(name).contains("kinesisanalytics")) {
                LIVE.put(group.getMetricIdentifier(name), (Counter) metric);
            }
        }
        @Override public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
            Counter c = LIVE.remove(group.getMetricIdentifier(name));
            if (c != null) RETIRED.merge(name, c.getCount(), Long::sum);
        }
    }

    public static final class ReporterFactory implements MetricReporterFactory {
        @Override public MetricReporter createMetricReporter(Properties properties) { return new Reporter(); }
    }

    static long counter(String name) {
        long sum = RETIRED.getOrDefault(name, 0L);
        for (Map.Entry<String, Counter> e : LIVE.entrySet()) if (e.getKey().endsWith("." + name)) sum += e.getValue().getCount();
        return sum;
    }

    static synchronized void emit(String json) {
        System.out.println("@@ " + json);
        System.out.flush();
    }

    static String q(String s) { return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""; }

    public static void main(String[] args) throws Exception {
        String configFile = args[0];
        String stateDir = args[1];
        int checkpointSeconds = Integer.parseInt(args[2]);
        int parallelism = Integer.parseInt(args[3]);

        Configuration conf = new Configuration();
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.BIND_PORT, "0");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, "file://" + stateDir + "/checkpoints");
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, "file://" + stateDir + "/savepoints");
        conf.setString("metrics.reporter.local.factory.class", ReporterFactory.class.getName());
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, 1);
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf).setNumTaskManagers(parallelism).setNumSlotsPerTaskManager(1).build());
        cluster.start();

        PipelineConfig cfg = PipelineConfig.load(new String[] {"--config", configFile});
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        AggregatorJob.configureEnvironment(env, Duration.ofSeconds(checkpointSeconds));
        AggregatorJob.buildJob(env, cfg);
        JobGraph graph = env.getStreamGraph().getJobGraph();
        JobID jobId = cluster.submitJob(graph).get().getJobID();
        emit("{\"event\":\"submitted\",\"jobId\":" + q(jobId.toString()) + "}");

        cluster.requestJobResult(jobId).thenAccept((JobResult r) -> {
            String cause = r.getSerializedThrowable().map(t -> t.getFullStringifiedStackTrace()).orElse(null);
            emit("{\"event\":\"finished\",\"status\":" + q(String.valueOf(r.getApplicationStatus())) + ",\"cause\":" + q(cause) + "}");
        });

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            line = line.trim();
            try {
                if (line.equals("status")) {
                    AccessExecutionGraph g = cluster.getExecutionGraph(jobId).get(30, TimeUnit.SECONDS);
                    CheckpointStatsSnapshot cp = g.getCheckpointStatsSnapshot();
                    RestoredCheckpointStats restored = cp == null ? null : cp.getLatestRestoredCheckpoint();
                    long running = 0, total = 0;
                    for (var v : g.getAllExecutionVertices()) {
                        total++;
                        if (v.getExecutionState().toString().equals("RUNNING")) running++;
                    }
                    emit("{\"event\":\"status\",\"state\":" + q(g.getState().toString())
                            + ",\"tasksRunning\":" + running + ",\"tasks\":" + total
                            + ",\"completedCheckpoints\":" + (cp == null ? 0 : cp.getCounts().getNumberOfCompletedCheckpoints())
                            + ",\"restoredCheckpoint\":" + (restored == null ? -1 : restored.getCheckpointId())
                            + ",\"lateEvents\":" + counter("lateEvents")
                            + ",\"malformedEvents\":" + counter("malformedEvents")
                            + ",\"counters\":" + q(String.join(",", LIVE.keySet())) + "}");
                } else if (line.equals("kill-tm")) {
                    cluster.terminateTaskManager(0).get(60, TimeUnit.SECONDS);
                    cluster.startTaskManager();
                    emit("{\"event\":\"tm-killed\"}");
                } else if (line.equals("stop")) {
                    String path = cluster.stopWithSavepoint(jobId, "file://" + stateDir + "/savepoints", true, SavepointFormatType.CANONICAL)
                            .get(300, TimeUnit.SECONDS);
                    JobResult r = cluster.requestJobResult(jobId).get(120, TimeUnit.SECONDS);
                    emit("{\"event\":\"stopped\",\"savepoint\":" + q(path) + ",\"status\":" + q(String.valueOf(r.getApplicationStatus()))
                            + ",\"lateEvents\":" + counter("lateEvents") + ",\"malformedEvents\":" + counter("malformedEvents") + "}");
                    cluster.close();
                    System.exit(0);
                }
            } catch (Exception e) {
                emit("{\"event\":\"error\",\"command\":" + q(line) + ",\"message\":" + q(String.valueOf(e)) + "}");
            }
        }
        cluster.close();
        System.exit(0);
    }
}
