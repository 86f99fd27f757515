package com.acme.pipeline.flink.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** JSON (UTF-8) reading of raw events and writing of aggregate records, with Jackson's streaming API. */
public final class EventJson {
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final SerializedString CUSTOMER_ID = new SerializedString("customer_id");
    private static final SerializedString TIMESTAMP = new SerializedString("timestamp");

    private EventJson() {}

    /**
     * Parses a raw event. Requires a JSON object with a non-empty string {@code customer_id} and an
     * ISO-8601 {@code timestamp} with a zone offset (e.g. {@code 2024-05-01T12:00:00Z} or
     * {@code 2024-05-01T14:00:00.250+02:00}). Other fields ({@code event_id}, {@code event_type},
     * {@code payload}) are skipped.
     */
    public static RawEvent parse(byte[] data) throws MalformedEventException {
        if (data == null || data.length == 0) {
            throw new MalformedEventException("empty record");
        }
        String customerId = null;
        String timestamp = null;
        try (JsonParser p = FACTORY.createParser(data)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedEventException("not a JSON object");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.getCurrentName();
                JsonToken v = p.nextToken();
                if ("customer_id".equals(name)) {
                    if (v != JsonToken.VALUE_STRING) {
                        throw new MalformedEventException("customer_id is not a string");
                    }
                    customerId = p.getText();
                } else if ("timestamp".equals(name)) {
                    if (v != JsonToken.VALUE_STRING) {
                        throw new MalformedEventException("timestamp is not a string");
                    }
                    timestamp = p.getText();
                } else {
                    p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw new MalformedEventException("truncated JSON object");
            }
            if (p.nextToken() != null) {
                throw new MalformedEventException("trailing data after JSON object");
            }
        } catch (JsonProcessingException e) {
            throw new MalformedEventException("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MalformedEventException("not JSON: " + e.getMessage());
        }
        if (customerId == null || customerId.isEmpty()) {
            throw new MalformedEventException("missing customer_id");
        }
        if (timestamp == null) {
            throw new MalformedEventException("missing timestamp");
        }
        return new RawEvent(customerId, parseTimestamp(timestamp));
    }

    /** ISO-8601 date-time with offset to epoch millis; fast path for {@code yyyy-MM-ddTHH:mm:ss[.f*]Z}. */
    public static long parseTimestamp(String s) throws MalformedEventException {
        int n = s.length();
        if (n >= 20 && s.charAt(n - 1) == 'Z' && s.charAt(4) == '-' && s.charAt(7) == '-'
                && (s.charAt(10) == 'T' || s.charAt(10) == 't') && s.charAt(13) == ':' && s.charAt(16) == ':') {
            int year = digits(s, 0, 4);
            int month = digits(s, 5, 7);
            int day = digits(s, 8, 10);
            int hour = digits(s, 11, 13);
            int minute = digits(s, 14, 16);
            int second = digits(s, 17, 19);
            int nanos = 0;
            boolean ok = year >= 0 && month >= 0 && day >= 0 && hour >= 0 && minute >= 0 && second >= 0;
            if (ok && n > 20) {
                // fraction: '.' then 1..9 digits, then 'Z'
                if (s.charAt(19) != '.' || n - 21 < 1 || n - 21 > 9) {
                    ok = false;
                } else {
                    int f = digits(s, 20, n - 1);
                    if (f < 0) {
                        ok = false;
                    } else {
                        nanos = f;
                        for (int i = n - 21; i < 9; i++) {
                            nanos *= 10;
                        }
                    }
                }
            } else if (ok && n != 20) {
                ok = false;
            }
            if (ok) {
                try {
                    return LocalDateTime.of(year, month, day, hour, minute, second, nanos)
                                    .toEpochSecond(ZoneOffset.UTC) * 1000L + nanos / 1_000_000;
                } catch (DateTimeException e) {
                    throw new MalformedEventException("bad timestamp: " + abbreviate(s));
                }
            }
        }
        try {
            return OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant().toEpochMilli();
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new MalformedEventException("bad timestamp: " + abbreviate(s));
        }
    }

    private static int digits(String s, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    /** ISO-8601 UTC rendering used for window bounds, e.g. {@code 2024-05-01T12:05:00Z}. */
    public static String iso(long epochMillis) {
        return Instant.ofEpochMilli(epochMillis).toString();
    }

    /**
     * {@code {"record_type":"aggregate","customer_id":..,"window_start":ISO,"window_end":ISO,
     * "count":N,"timestamp":ISO}} where {@code timestamp} equals {@code window_end}, plus
     * {@code aggregate_id} ({@link CustomerWindowCount#aggregateId}) and {@code version} (= count,
     * {@link CustomerWindowCount#version}).
     */
    public static byte[] aggregateToJson(CustomerWindowCount c) {
        try (ByteArrayBuilder out = new ByteArrayBuilder(160);
                JsonGenerator g = FACTORY.createGenerator(out)) {
            String start = iso(c.windowStart);
            String end = iso(c.windowEnd);
            g.writeStartObject();
            g.writeStringField("record_type", "aggregate");
            g.writeStringField("aggregate_id", CustomerWindowCount.aggregateId(c.customerId, start));
            g.writeFieldName(CUSTOMER_ID);
            g.writeString(c.customerId);
            g.writeStringField("window_start", start);
            g.writeStringField("window_end", end);
            g.writeNumberField("count", c.count);
            g.writeNumberField("version", c.version());
            g.writeFieldName(TIMESTAMP);
            g.writeString(end);
            g.writeEndObject();
            g.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("cannot write aggregate JSON", e);
        }
    }
}
