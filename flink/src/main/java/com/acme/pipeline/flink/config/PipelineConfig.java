package com.acme.pipeline.flink.config;

import com.amazonaws.services.kinesisanalytics.runtime.KinesisAnalyticsRuntime;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The job's configuration: property group {@value #GROUP} of the Managed Flink application, or a
 * local JSON file given with {@code --config path.json}. Every value is validated at start-up; a bad
 * value fails with a message that names the key and the allowed values or range.
 */
public final class PipelineConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String GROUP = "pipeline";

    public static final String AWS_REGION = "aws.region";
    public static final String INPUT_STREAM_ARN = "input.stream.arn";
    public static final String OUTPUT_STREAM_ARN = "output.stream.arn";
    public static final String INPUT_READER = "input.reader";
    public static final String INPUT_EFO_CONSUMER_NAME = "input.efo.consumer.name";
    public static final String INPUT_INITIAL_POSITION = "input.initial.position";
    public static final String WINDOW_SIZE_MINUTES = "window.size.minutes";
    public static final String WINDOW_ALLOWED_LATENESS_SECONDS = "window.allowed.lateness.seconds";
    public static final String WATERMARK_OUT_OF_ORDERNESS_SECONDS = "watermark.out.of.orderness.seconds";
    public static final String WATERMARK_IDLENESS_SECONDS = "watermark.idleness.seconds";
    public static final String EVENT_MAX_FUTURE_SKEW_SECONDS = "event.max.future.skew.seconds";
    public static final String INPUT_POLLING_INTERVAL_MS = "input.polling.interval.ms";
    public static final String TIMESTREAM_ENABLED = "timestream.enabled";
    public static final String TIMESTREAM_DATABASE = "timestream.database";
    public static final String TIMESTREAM_TABLE = "timestream.table";
    public static final String AWS_ENDPOINT_URL = "aws.endpoint.url";

    /** Kinesis stream ARN, any partition (aws, aws-cn, aws-us-gov). */
    private static final Pattern STREAM_ARN =
            Pattern.compile("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\\d{12}:stream/[A-Za-z0-9_.-]{1,128}$");
    private static final Pattern REGION = Pattern.compile("^[a-z]{2}(-[a-z]+)+-\\d$");
    private static final Pattern EFO_NAME = Pattern.compile("^[a-zA-Z0-9_.-]{1,128}$");
    private static final Pattern TIMESTREAM_NAME = Pattern.compile("^[a-zA-Z0-9_.-]{3,256}$");
    private static final Pattern ENDPOINT = Pattern.compile("^https?://[^\\s/]+(:\\d+)?/?$");

    /** Default skew: producers' clocks and batching, well below any window (5 minutes). */
    public static final int DEFAULT_MAX_FUTURE_SKEW_SECONDS = 300;
    /**
     * Default GetRecords interval per shard: 1 call/s. Kinesis allows 5 GetRecords calls/s per shard
     * shared by all polling readers; Firehose polls each shard once per second and the Lambda event
     * source mapping once per second, so Firehose + Lambda + Flink make 3 of the 5. One call returns
     * up to 10,000 records / 10 MB, ten times what a shard can take in per second, so one call per
     * second also keeps up with a full shard and catches up after a backlog.
     */
    public static final int DEFAULT_POLLING_INTERVAL_MS = 1000;

    public enum Reader { POLLING, EFO }

    public enum InitialPosition { LATEST, TRIM_HORIZON }

    public final String region;
    public final String inputStreamArn;
    public final String outputStreamArn;
    public final Reader reader;
    public final String efoConsumerName;
    public final InitialPosition initialPosition;
    public final int windowSizeMinutes;
    public final int allowedLatenessSeconds;
    public final int outOfOrdernessSeconds;
    public final int idlenessSeconds;
    /** Events more than this far ahead of processing time go to the future-events side output. */
    public final int maxFutureSkewSeconds;
    /** POLLING: least time between two GetRecords calls on one shard. */
    public final int pollingIntervalMs;
    public final boolean timestreamEnabled;
    public final String timestreamDatabase;
    public final String timestreamTable;
    public final String endpointUrl;

    private PipelineConfig(Properties p) {
        region = required(p, AWS_REGION);
        check(REGION.matcher(region).matches(), AWS_REGION, region, "an AWS region name such as eu-west-1");
        inputStreamArn = streamArn(p, INPUT_STREAM_ARN);
        outputStreamArn = streamArn(p, OUTPUT_STREAM_ARN);
        reader = enumValue(p, INPUT_READER, Reader.class, Reader.POLLING);
        String efo = optional(p, INPUT_EFO_CONSUMER_NAME);
        if (reader == Reader.EFO) {
            if (efo == null) {
                throw new ConfigException("Missing required configuration key '" + INPUT_EFO_CONSUMER_NAME
                        + "' in property group '" + GROUP + "' (required when " + INPUT_READER + " = EFO)");
            }
            check(EFO_NAME.matcher(efo).matches(), INPUT_EFO_CONSUMER_NAME, efo,
                    "1..128 characters of [a-zA-Z0-9_.-]");
        }
        efoConsumerName = efo;
        initialPosition = enumValue(p, INPUT_INITIAL_POSITION, InitialPosition.class, InitialPosition.LATEST);
        windowSizeMinutes = intInRange(p, WINDOW_SIZE_MINUTES, 5, 1, 1440);
        allowedLatenessSeconds = intInRange(p, WINDOW_ALLOWED_LATENESS_SECONDS, 0, 0, 3600);
        outOfOrdernessSeconds = intInRange(p, WATERMARK_OUT_OF_ORDERNESS_SECONDS, 30, 0, 3600);
        idlenessSeconds = intInRange(p, WATERMARK_IDLENESS_SECONDS, 60, 1, 3600);
        maxFutureSkewSeconds = intInRange(p, EVENT_MAX_FUTURE_SKEW_SECONDS, DEFAULT_MAX_FUTURE_SKEW_SECONDS, 0, 86_400);
        pollingIntervalMs = intInRange(p, INPUT_POLLING_INTERVAL_MS, DEFAULT_POLLING_INTERVAL_MS, 200, 60_000);
        timestreamEnabled = bool(p, TIMESTREAM_ENABLED, false);
        String db = optional(p, TIMESTREAM_DATABASE);
        String table = optional(p, TIMESTREAM_TABLE);
        if (timestreamEnabled) {
            for (String[] kv : new String[][] {{TIMESTREAM_DATABASE, db}, {TIMESTREAM_TABLE, table}}) {
                if (kv[1] == null) {
                    throw new ConfigException("Missing required configuration key '" + kv[0]
                            + "' in property group '" + GROUP + "' (required when " + TIMESTREAM_ENABLED + " = true)");
                }
                check(TIMESTREAM_NAME.matcher(kv[1]).matches(), kv[0], kv[1], "3..256 characters of [a-zA-Z0-9_.-]");
            }
        }
        timestreamDatabase = db;
        timestreamTable = table;
        String endpoint = optional(p, AWS_ENDPOINT_URL);
        if (endpoint != null) {
            check(ENDPOINT.matcher(endpoint).matches(), AWS_ENDPOINT_URL, endpoint,
                    "an http(s) URL such as http://127.0.0.1:5000 (local runs and tests only)");
        }
        endpointUrl = endpoint;
    }

    /** Validates the given property group. */
    public static PipelineConfig fromProperties(Properties p) {
        if (p == null) {
            throw new ConfigException("Missing property group '" + GROUP + "' (it must hold at least "
                    + AWS_REGION + ", " + INPUT_STREAM_ARN + " and " + OUTPUT_STREAM_ARN + ")");
        }
        return new PipelineConfig(p);
    }

    /** Local file given with {@code --config}, else the Managed Flink runtime property groups. */
    public static PipelineConfig load(String[] args) throws IOException {
        for (int i = 0; i < args.length; i++) {
            if ("--config".equals(args[i])) {
                if (i + 1 >= args.length) {
                    throw new ConfigException("--config needs a path to a JSON file");
                }
                return fromProperties(readJsonFile(Path.of(args[i + 1])));
            }
        }
        return fromProperties(KinesisAnalyticsRuntime.getApplicationProperties().get(GROUP));
    }

    /**
     * Reads a local config file. Accepted shapes: {@code {"pipeline": {"key": "value", ...}}} or
     * the Managed Flink shape {@code [{"PropertyGroupId": "pipeline", "PropertyMap": {...}}]}.
     * Values may be strings, numbers or booleans.
     */
    public static Properties readJsonFile(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        try (JsonParser parser = new JsonFactory().createParser(bytes)) {
            JsonToken first = parser.nextToken();
            if (first == JsonToken.START_OBJECT) {
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.getCurrentName();
                    parser.nextToken();
                    if (GROUP.equals(name)) {
                        return readFlatObject(parser, path);
                    }
                    parser.skipChildren();
                }
                return null;
            } else if (first == JsonToken.START_ARRAY) {
                while (parser.nextToken() == JsonToken.START_OBJECT) {
                    String groupId = null;
                    Properties map = null;
                    while (parser.nextToken() == JsonToken.FIELD_NAME) {
                        String name = parser.getCurrentName();
                        parser.nextToken();
                        if ("PropertyGroupId".equals(name)) {
                            groupId = parser.getText();
                        } else if ("PropertyMap".equals(name)) {
                            map = readFlatObject(parser, path);
                        } else {
                            parser.skipChildren();
                        }
                    }
                    if (GROUP.equals(groupId)) {
                        return map == null ? new Properties() : map;
                    }
                }
                return null;
            }
            throw new ConfigException("Config file " + path + " must hold a JSON object or array");
        }
    }

    private static Properties readFlatObject(JsonParser parser, Path path) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw new ConfigException("Property group '" + GROUP + "' in " + path + " must be a JSON object");
        }
        Properties props = new Properties();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = parser.getCurrentName();
            JsonToken t = parser.nextToken();
            if (t.isStructStart()) {
                throw new ConfigException("Configuration key '" + key + "' in " + path
                        + " must be a string, number or boolean");
            }
            if (t != JsonToken.VALUE_NULL) {
                props.setProperty(key, parser.getText());
            }
        }
        return props;
    }

    public Duration windowSize() {
        return Duration.ofMinutes(windowSizeMinutes);
    }

    public Duration allowedLateness() {
        return Duration.ofSeconds(allowedLatenessSeconds);
    }

    public Duration outOfOrderness() {
        return Duration.ofSeconds(outOfOrdernessSeconds);
    }

    public Duration idleness() {
        return Duration.ofSeconds(idlenessSeconds);
    }

    public Duration maxFutureSkew() {
        return Duration.ofSeconds(maxFutureSkewSeconds);
    }

    public Duration pollingInterval() {
        return Duration.ofMillis(pollingIntervalMs);
    }

    /** Stream name part of a stream ARN. */
    public static String streamName(String arn) {
        return arn.substring(arn.indexOf(":stream/") + ":stream/".length());
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static String optional(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            return null;
        }
        v = v.trim();
        return v.isEmpty() ? null : v;
    }

    private static String required(Properties p, String key) {
        String v = optional(p, key);
        if (v == null) {
            throw new ConfigException("Missing required configuration key '" + key + "' in property group '" + GROUP + "'");
        }
        return v;
    }

    private static String streamArn(Properties p, String key) {
        String v = required(p, key);
        check(STREAM_ARN.matcher(v).matches(), key, v,
                "a Kinesis stream ARN arn:aws:kinesis:<region>:<12-digit account>:stream/<name>");
        return v;
    }

    private static void check(boolean ok, String key, String value, String allowed) {
        if (!ok) {
            throw new ConfigException("Invalid value '" + value + "' for configuration key '" + key
                    + "' in property group '" + GROUP + "': expected " + allowed);
        }
    }

    private static <E extends Enum<E>> E enumValue(Properties p, String key, Class<E> type, E dflt) {
        String v = optional(p, key);
        if (v == null) {
            return dflt;
        }
        try {
            return Enum.valueOf(type, v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            StringBuilder allowed = new StringBuilder("one of ");
            E[] all = type.getEnumConstants();
            for (int i = 0; i < all.length; i++) {
                allowed.append(i == 0 ? "" : " | ").append(all[i].name());
            }
            check(false, key, v, allowed.toString());
            return dflt; // unreachable
        }
    }

    private static int intInRange(Properties p, String key, int dflt, int min, int max) {
        String v = optional(p, key);
        if (v == null) {
            return dflt;
        }
        String allowed = "an integer in " + min + ".." + max;
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            check(false, key, v, allowed);
            return dflt; // unreachable
        }
        check(n >= min && n <= max, key, v, allowed);
        return n;
    }

    private static boolean bool(Properties p, String key, boolean dflt) {
        String v = optional(p, key);
        if (v == null) {
            return dflt;
        }
        if ("true".equalsIgnoreCase(v)) {
            return true;
        }
        if ("false".equalsIgnoreCase(v)) {
            return false;
        }
        check(false, key, v, "true | false");
        return dflt; // unreachable
    }

    @Override
    public String toString() {
        return "PipelineConfig{region=" + region + ", input=" + inputStreamArn + ", output=" + outputStreamArn
                + ", reader=" + reader + (efoConsumerName != null ? "(" + efoConsumerName + ")" : "")
                + ", initialPosition=" + initialPosition + ", window=" + windowSizeMinutes + "min"
                + ", allowedLateness=" + allowedLatenessSeconds + "s, outOfOrderness=" + outOfOrdernessSeconds
                + "s, idleness=" + idlenessSeconds + "s, maxFutureSkew=" + maxFutureSkewSeconds
                + "s, pollingInterval=" + pollingIntervalMs + "ms, timestream=" + timestreamEnabled
                + (timestreamEnabled ? "(" + timestreamDatabase + "." + timestreamTable + ")" : "")
                + (endpointUrl != null ? ", endpoint=" + endpointUrl : "") + "}";
    }
}
