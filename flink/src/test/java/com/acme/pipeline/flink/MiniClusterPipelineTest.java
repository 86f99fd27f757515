package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.testutil.CounterCollectingReporter;
import com.acme.pipeline.flink.testutil.PerEventWatermarks;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The aggregation on a MiniCluster (parallelism 2) over a bounded input: exact counts and metrics. */
class MiniClusterPipelineTest {
    private static final long T0 = Instant.parse("2024-05-01T00:00:00Z").toEpochMilli();

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .setConfiguration(reporterConfig())
                    .build());

    private static Configuration reporterConfig() {
        Configuration c = new Configuration();
        CounterCollectingReporter.addTo(c);
        return c;
    }

    private static byte[] json(String customer, long ts, int id) {
        return ("{\"event_id\":\"e" + id + "\",\"customer_id\":\"" + customer + "\",\"event_type\":\"view\","
                + "\"timestamp\":\"" + Instant.ofEpochMilli(ts) + "\",\"payload\":{\"i\":" + id + "}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void exactCountsPerCustomerAndWindowWithLateAndMalformedCounted() throws Exception {
        CounterCollectingReporter.reset();
        Random rnd = new Random(42);
        int customers = 7;
        Duration window = Duration.ofMinutes(5);
        Duration outOfOrder = Duration.ofSeconds(30);
        List<byte[]> records = new ArrayList<>();
        Map<String, Long> expected = new HashMap<>();
        // 60 minutes of events, 1 per second, shuffled within 20 s blocks (< out-of-orderness bound)
        List<Integer> block = new ArrayList<>();
        int id = 0;
        for (int s = 0; s < 3600; s++) {
            block.add(s);
            if (block.size() == 20) {
                Collections.shuffle(block, rnd);
                for (int sec : block) {
                    long ts = T0 + sec * 1000L + rnd.nextInt(1000);
                    String c = "cust-" + rnd.nextInt(customers);
                    records.add(json(c, ts, id++));
                    long ws = ts - Math.floorMod(ts, window.toMillis());
                    expected.merge(c + "|" + Instant.ofEpochMilli(ws) + "|" + Instant.ofEpochMilli(ws + window.toMillis()),
                            1L, Long::sum);
                }
                block.clear();
            }
        }
        // late: far behind the watermark (which is at ~T0+60min-30s now)
        records.add(json("cust-1", T0 + 1000, id++));
        records.add(json("cust-late-only", T0 + 10 * 60_000, id++));
        records.add(json("cust-2", T0 + 40 * 60_000, id++));
        // malformed
        records.add("oops".getBytes(StandardCharsets.UTF_8));
        records.add("{\"customer_id\":\"cust-1\"}".getBytes(StandardCharsets.UTF_8));
        records.add("{\"timestamp\":\"2024-05-01T00:00:01Z\"}".getBytes(StandardCharsets.UTF_8));
        records.add("{\"customer_id\":\"cust-1\",\"timestamp\":\"2024-05-01T25:00:00Z\"}".getBytes(StandardCharsets.UTF_8));
        records.add(new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataStream<RawEvent> events = env
                .fromData(records, TypeInformation.of(byte[].class)).setParallelism(1) // ordered input
                .map(RawEventDeserializationSchema::parse).returns(RawEvent.class).setParallelism(1)
                .assignTimestampsAndWatermarks(PerEventWatermarks.strategy(outOfOrder)).setParallelism(1);
        AggregationPipeline.Outputs out = AggregationPipeline.build(events,
                new AggregationPipeline.Settings(window, Duration.ZERO));
        List<String> jsons = new ArrayList<>();
        out.aggregates.map(c -> new String(EventJson.aggregateToJson(c), StandardCharsets.UTF_8)).returns(Types.STRING)
                .executeAndCollect("mini-cluster-e2e").forEachRemaining(jsons::add);

        Map<String, Long> actual = new HashMap<>();
        for (String j : jsons) {
            Map<String, Object> m = SimpleJson.parseFlat(j);
            assertThat(m.get("record_type")).isEqualTo("aggregate");
            assertThat(m.get("timestamp")).isEqualTo(m.get("window_end"));
            String key = m.get("customer_id") + "|" + m.get("window_start") + "|" + m.get("window_end");
            assertThat(actual.put(key, (Long) m.get("count"))).as("one record per customer and window: " + key).isNull();
        }
        assertThat(actual).isEqualTo(expected);
        assertThat(actual.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(3600);
        assertThat(actual).hasSize(7 * 12);
        assertThat(CounterCollectingReporter.sum(AggregationPipeline.LATE_EVENTS_COUNTER)).isEqualTo(3);
        assertThat(CounterCollectingReporter.sum(AggregationPipeline.MALFORMED_EVENTS_COUNTER)).isEqualTo(5);
    }
}
