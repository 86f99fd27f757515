package com.acme.pipeline.flink.bench;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark's harness, at a small size: both ways of running the job (a MiniCluster borrowing
 * the RPC system loaded once, and {@code env.execute()}) count every event of the dataset, and the
 * plain loop does too (each throws otherwise). Figures come from {@code ./bench.sh}, not from here.
 */
class BenchmarkHarnessTest {
    @AfterAll
    static void closeRpcSystem() throws Exception {
        BenchmarkMain.closeRpcSystem();
    }

    @Test
    void everyHarnessCountsEveryEvent() throws Exception {
        int n = 20_000;
        BenchmarkMain.generate(n);
        assertThat(BenchmarkMain.plainLoop(n)).isPositive();
        assertThat(BenchmarkMain.flinkJob(n, false)).isPositive();
        assertThat(BenchmarkMain.flinkJob(n, false)).as("a second cluster borrowing the same RPC system").isPositive();
        assertThat(BenchmarkMain.flinkJob(n, true)).isPositive();
        assertThat(BenchmarkMain.lastRunning).isPositive();
    }
}
