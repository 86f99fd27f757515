package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.model.EventJson;
import com.acme.pipeline.flink.model.RawEvent;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class EventJsonTest {
    private static RawEvent parse(String s) {
        return RawEventDeserializationSchema.parse(s.getBytes(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "2024-05-01T12:00:00Z;2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.5Z;2024-05-01T12:00:00.500Z",
        "2024-05-01T12:00:00.123456789Z;2024-05-01T12:00:00.123Z",
        "2024-05-01T14:00:00+02:00;2024-05-01T12:00:00Z",
        "2024-05-01T11:30:00.250-00:30;2024-05-01T12:00:00.250Z",
        "2024-02-29T23:59:59Z;2024-02-29T23:59:59Z",
    })
    void parsesIsoTimestamps(String ts, String expectedUtc) {
        RawEvent e = parse("{\"event_id\":\"1\",\"customer_id\":\"c-1\",\"event_type\":\"x\",\"timestamp\":\"" + ts
                + "\",\"payload\":{\"a\":[1,{\"b\":null}],\"timestamp\":5}}");
        assertThat(e.isMalformed()).as(String.valueOf(e.malformed)).isFalse();
        assertThat(e.customerId).isEqualTo("c-1");
        assertThat(e.eventTime).isEqualTo(Instant.parse(expectedUtc).toEpochMilli());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "not json",
        "[1,2]",
        "{\"customer_id\":\"c1\"}",
        "{\"timestamp\":\"2024-05-01T12:00:00Z\"}",
        "{\"customer_id\":\"\",\"timestamp\":\"2024-05-01T12:00:00Z\"}",
        "{\"customer_id\":42,\"timestamp\":\"2024-05-01T12:00:00Z\"}",
        "{\"customer_id\":\"c1\",\"timestamp\":1714564800000}",
        "{\"customer_id\":\"c1\",\"timestamp\":\"2024-13-01T12:00:00Z\"}",
        "{\"customer_id\":\"c1\",\"timestamp\":\"2024-02-30T12:00:00Z\"}",
        "{\"customer_id\":\"c1\",\"timestamp\":\"2024-05-01T12:00:00\"}",
        "{\"customer_id\":\"c1\",\"timestamp\":\"2024-05-01 12:00:00Z\"}",
        "{\"customer_id\":\"c1\",\"timestamp\":\"yesterday\"}",
        "{\"customer_id\":\"c1\",\"timestamp\":\"2024-05-01T12:00:00Z\"",
        "{\"customer_id\":\"c1\",\"timestamp\":\"2024-05-01T12:00:00Z\"} trailing",
    })
    void malformedRecordsBecomeMarkersNotExceptions(String record) {
        RawEvent e = parse(record);
        assertThat(e.isMalformed()).as("record <%s> -> %s", record, e).isTrue();
        assertThat(e.malformed).isNotBlank();
    }

    @Test
    void aggregateJsonContract() {
        long start = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();
        long end = Instant.parse("2024-05-01T12:05:00Z").toEpochMilli();
        String json = new String(EventJson.aggregateToJson(new CustomerWindowCount("c\"1", start, end, 42)),
                StandardCharsets.UTF_8);
        Map<String, Object> m = SimpleJson.parseFlat(json);
        assertThat(m).containsExactly(
                Map.entry("record_type", "aggregate"),
                Map.entry("aggregate_id", "c\"1#2024-05-01T12:00:00Z"),
                Map.entry("customer_id", "c\"1"),
                Map.entry("window_start", "2024-05-01T12:00:00Z"),
                Map.entry("window_end", "2024-05-01T12:05:00Z"),
                Map.entry("count", 42L),
                Map.entry("version", 42L),
                Map.entry("timestamp", "2024-05-01T12:05:00Z"));
    }
}
