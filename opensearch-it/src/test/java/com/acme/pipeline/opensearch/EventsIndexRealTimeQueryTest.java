package com.acme.pipeline.opensearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The events-* index template and the blueprint's "Real-Time Analytics Query" against a real
 * single-node OpenSearch, over HTTP, with documents bulk-indexed the way Firehose delivers them.
 *
 * <p>Determinism. Every timestamp is derived from one instant {@code base} captured just before
 * indexing. The server evaluates {@code now-5m} when the query arrives, at some
 * {@code Tq >= base}. A document of age {@code a} (= base - timestamp) is in range iff
 * {@code a <= 300 s - (Tq - base)}. The generator puts no document at an age in
 * (265 s, 300 s], so every included document is included for any {@code Tq - base <= 35 s}
 * (checked after each query) and every excluded one (age > 300 s) is excluded for any Tq.
 * The minute buckets depend only on the timestamps, so the expected buckets are computed from
 * the generated documents with the same minute arithmetic as the date_histogram (UTC, epoch-aligned).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventsIndexRealTimeQueryTest {

    /** The blueprint's query, byte for byte (whitespace aside). */
    static final String BLUEPRINT_QUERY =
        "{\"query\":{\"range\":{\"timestamp\":{\"gte\":\"now-5m\"}}},"
            + "\"aggs\":{\"events_per_minute\":{\"date_histogram\":{\"field\":\"timestamp\",\"fixed_interval\":\"1m\"}}}}";

    static final Path REPO_ROOT = Path.of(System.getProperty("basedir", ".")).resolve("..").toAbsolutePath().normalize();
    static final Path TEMPLATE_FILE = REPO_ROOT.resolve("components/firehose-opensearch/events-index-template.json");
    static final Path PIPELINES_FILE = REPO_ROOT.resolve("components/firehose-opensearch/events-ingest-pipelines.json");
    static final Duration SETUP_TIMEOUT = Duration.ofSeconds(120);

    static final Duration WINDOW = Duration.ofMinutes(5);
    /** Oldest age of a document that must be inside now-5m. */
    static final Duration MAX_INCLUDED_AGE = Duration.ofSeconds(265);
    /** Longest allowed time from {@code base} to the end of a now-5m query. */
    static final Duration QUERY_GUARD = WINDOW.minus(MAX_INCLUDED_AGE);

    static final DateTimeFormatter ISO_SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssXXX").withZone(ZoneOffset.UTC);
    static final DateTimeFormatter ISO_MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneOffset.UTC);
    static final DateTimeFormatter ISO_PLUS_TWO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneOffset.ofHours(2));

    static final String[][] CUSTOMERS = {
        {"c-001", "Acme Corp"}, {"c-002", "Globex"}, {"c-003", "Initech"}, {"c-999", null /* unknown customer */},
    };
    static final String[] EVENT_TYPES = {"page_view", "click", "purchase"};

    /**
     * One generated document: the index Firehose names in the bulk action (the delivery day), the
     * event time the test reasons about, and the source.
     */
    record Doc(String index, Instant time, String recordType, Map<String, Object> source) {
        /** The document's own id: event_id or aggregate_id (what the events-idempotent pipeline makes its _id). */
        String id() {
            return (String) source.get(recordType.equals("aggregate") ? "aggregate_id" : "event_id");
        }

        /** Where the pipeline files it: the daily index of its own timestamp (UTC), whatever the delivery day. */
        String storedIndex() {
            return indexFor(time);
        }
    }

    /** An index that exists before the first setup run (created by an older template version, no default pipeline). */
    static final String PRE_EXISTING_INDEX = "events-2000-01-01";
    static final Instant PRE_EXISTING_TIME = Instant.parse("2000-01-01T12:00:00Z");

    @TempDir
    static Path home;

    EmbeddedOpenSearchNode node;
    OpenSearchHttp http;
    Instant base;
    String todayIndex;
    List<Doc> docs;
    long startupMillis;
    /** One redelivery: the records sent, in order, and the bulk response. */
    record Delivery(List<Doc> sent, JsonNode response) {}

    /** The redeliveries (see {@link #redeliver()}), checked item by item below. */
    final Map<String, Delivery> redeliveries = new LinkedHashMap<>();
    /** Aggregates whose window re-fired after the first delivery: id -> the newer count. */
    final Map<String, Long> refired = new TreeMap<>();

    @BeforeAll
    void startNodeApplyTemplateAndIndex() throws Exception {
        long t0 = System.nanoTime();
        node = EmbeddedOpenSearchNode.start(home);
        startupMillis = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("OpenSearch %s started at %s in %d ms%n", EmbeddedOpenSearchNode.version(), node.baseUri(), startupMillis);
        http = new OpenSearchHttp(node.baseUri());

        JsonNode root = http.send("GET", "/", null);
        assertEquals("2.19.6", root.at("/version/number").asText(), "server version");

        // A daily index from before this template version: the template's mapping, no default pipeline.
        JsonNode templateFile = OpenSearchHttp.JSON.readTree(TEMPLATE_FILE.toFile());
        http.send("PUT", "/" + PRE_EXISTING_INDEX, "{\"settings\":{\"index\":{\"number_of_shards\":1,\"auto_expand_replicas\":\"0-1\"}},"
            + "\"mappings\":" + templateFile.at("/template/mappings") + "}");

        // The template and its ingest pipelines are installed the way the deploy workflow installs
        // them: by the post-apply script (atmos opensearch-setup), here unsigned and without the
        // security plugin's part. Twice: the second run must succeed and change nothing (idempotent).
        String firstRun = runSetupScript();
        assertTrue(firstRun.contains("PUT /_index_template/events") && firstRun.contains("acknowledged=true"), firstRun);
        assertTrue(firstRun.contains("PUT /_ingest/pipeline/events-idempotent (ingest pipeline): HTTP 200, acknowledged=true"), firstRun);
        JsonNode afterFirst = http.send("GET", "/_index_template/events", null);
        JsonNode pipelinesAfterFirst = http.send("GET", "/_ingest/pipeline/events-idempotent*", null);
        String secondRun = runSetupScript();
        assertTrue(secondRun.contains("acknowledged=true"), secondRun);
        JsonNode afterSecond = http.send("GET", "/_index_template/events", null);
        assertEquals(afterFirst, afterSecond, "template after a second run");
        assertEquals(pipelinesAfterFirst, http.send("GET", "/_ingest/pipeline/events-idempotent*", null), "pipelines after a second run");
        assertEquals(OpenSearchHttp.JSON.readTree(PIPELINES_FILE.toFile()), pipelinesAfterFirst, "stored pipelines = the file's");
        assertEquals(1, afterSecond.get("index_templates").size(), "one events template");
        assertEquals(templateFile.get("template").get("mappings"),
            afterSecond.at("/index_templates/0/index_template/template/mappings"), "stored mappings = the file's");

        base = captureBase();
        todayIndex = indexFor(base);
        docs = generate(base);
        // First delivery, as Firehose sends it with NO_DOCUMENT_ID: index actions without _id.
        bulkIndex(docs);
        redeliver();
        http.send("POST", "/events-*/_refresh", null);
    }

    /**
     * Every hop before OpenSearch delivers at least once: every document is delivered again, out
     * of order, with and without a bulk _id, on the next day; some windows re-fire with a higher
     * count, and older counts arrive after newer ones. Afterwards the index must hold exactly what
     * one delivery of the newest version of each record gives (all the tests of this class).
     */
    void redeliver() throws Exception {
        // (1) Everything again in reverse order, with a Firehose-style bulk _id (FIREHOSE_DEFAULT: a
        //     per-record id that is not the record's own), delivered after midnight UTC: the bulk
        //     action names the next day's index.
        List<Doc> reversed = new ArrayList<>(docs);
        Collections.reverse(reversed);
        redeliveries.put("reverse, bulk ids, next day", new Delivery(reversed, bulk(reversed, d -> UUID.randomUUID().toString(), d -> nextDay(d.index()))));

        // (2) The windows of one customer re-fire: count and version grow.
        List<Doc> newer = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            Doc d = docs.get(i);
            if (d.recordType().equals("aggregate") && CUSTOMERS[0][0].equals(d.source().get("customer_id"))) {
                Map<String, Object> source = new LinkedHashMap<>(d.source());
                long count = (Long) source.get("count") + 100;
                source.put("count", count);
                source.put("version", count);
                Doc refire = new Doc(d.index(), d.time(), d.recordType(), source);
                docs.set(i, refire);
                newer.add(refire);
                refired.put(refire.id(), count);
            }
        }
        redeliveries.put("re-fired windows", new Delivery(newer, bulk(newer, d -> null, Doc::index)));

        // (3) Older counts after newer ones: every aggregate with its newest count - 1 (the
        //     re-fired ones also with their first count), mixed with every event once more,
        //     shuffled, no bulk ids.
        List<Doc> late = new ArrayList<>();
        for (Doc d : docs) {
            if (d.recordType().equals("aggregate")) {
                late.add(withCount(d, (Long) d.source().get("count") - 1));
                if (refired.containsKey(d.id())) {
                    late.add(withCount(d, (Long) d.source().get("count") - 100));
                }
            } else {
                late.add(d);
            }
        }
        Collections.shuffle(late, new Random(12));
        redeliveries.put("stale counts and events, shuffled", new Delivery(late, bulk(late, d -> null, Doc::index)));

        // (4) The newest version of everything once more (a Flink replay of the same firings, a
        //     Firehose retry): equal versions are accepted, nothing changes.
        List<Doc> again = List.copyOf(docs);
        redeliveries.put("same versions again", new Delivery(again, bulk(again, d -> null, Doc::index)));
    }

    static Doc withCount(Doc aggregate, long count) {
        Map<String, Object> source = new LinkedHashMap<>(aggregate.source());
        source.put("count", count);
        source.put("version", count);
        return new Doc(aggregate.index(), aggregate.time(), aggregate.recordType(), source);
    }

    static String nextDay(String dailyIndex) {
        return indexFor(LocalDate.parse(dailyIndex.substring("events-".length())).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant());
    }

    @AfterAll
    void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    // ---------------------------------------------------------------- template and mapping

    @Test
    void templateIsInstalledForTheEventsPattern() throws Exception {
        JsonNode template = http.send("GET", "/_index_template/events", null).at("/index_templates/0/index_template");
        assertEquals("[\"events-*\"]", template.get("index_patterns").toString());
        // A future daily index resolves to this template's mapping.
        JsonNode simulated = http.send("POST", "/_index_template/_simulate_index/events-2030-01-01", null);
        assertEquals("date", simulated.at("/template/mappings/properties/timestamp/type").asText());
    }

    @Test
    void dailyIndexCreatedByBulkGetsTheTemplateMappingAndSettings() throws Exception {
        JsonNode mappings = http.send("GET", "/" + todayIndex + "/_mapping", null).at("/" + todayIndex + "/mappings");
        JsonNode props = mappings.get("properties");
        assertEquals("false", mappings.get("dynamic").asText(), "top-level dynamic");
        for (String keyword : List.of("customer_id", "event_type", "record_type", "event_id", "customer_name")) {
            assertEquals("keyword", props.at("/" + keyword + "/type").asText(), keyword);
        }
        assertEquals("text", props.at("/customer_name/fields/text/type").asText(), "customer_name.text");
        // The date format equals OpenSearch's default, so GET _mapping omits it; ask with defaults.
        JsonNode dates = http.send("GET", "/" + todayIndex
            + "/_mapping/field/timestamp,window_start,window_end?include_defaults=true", null).at("/" + todayIndex + "/mappings");
        for (String date : List.of("timestamp", "window_start", "window_end")) {
            assertEquals("date", props.at("/" + date + "/type").asText(), date);
            assertEquals("strict_date_optional_time||epoch_millis",
                dates.at("/" + date + "/mapping/" + date + "/format").asText(), date);
        }
        assertEquals("long", props.at("/count/type").asText(), "count");
        assertEquals("false", props.at("/payload/enabled").asText(), "payload.enabled");

        JsonNode settings = http.send("GET", "/" + todayIndex + "/_settings", null).at("/" + todayIndex + "/settings/index");
        assertEquals("1", settings.get("number_of_shards").asText());
        assertEquals("0-1", settings.get("auto_expand_replicas").asText());
        assertEquals("10s", settings.get("refresh_interval").asText());

        // auto_expand_replicas 0-1 keeps a single-node domain green (no unassignable replica).
        JsonNode health = http.send("GET", "/_cluster/health/events-*?wait_for_status=green&timeout=20s", null);
        assertEquals("green", health.get("status").asText());
        assertTrue(docs.stream().map(Doc::storedIndex).distinct().count() >= 2, "data spans several daily indices");
        assertEquals("events-idempotent", settings.get("default_pipeline").asText(), "index.default_pipeline");
    }

    @Test
    void payloadAndUnknownFieldsDoNotGrowTheMapping() throws Exception {
        Set<String> templateFields = new TreeSet<>();
        OpenSearchHttp.JSON.readTree(TEMPLATE_FILE.toFile()).at("/template/mappings/properties").fieldNames()
            .forEachRemaining(templateFields::add);
        JsonNode mapping = http.send("GET", "/events-*/_mapping", null);
        for (Iterator<String> indices = mapping.fieldNames(); indices.hasNext(); ) {
            String index = indices.next();
            JsonNode props = mapping.at("/" + index + "/mappings/properties");
            Set<String> fields = new TreeSet<>();
            props.fieldNames().forEachRemaining(fields::add);
            assertEquals(templateFields, fields, "fields mapped in " + index);
            assertFalse(props.get("payload").has("properties"), "payload sub-fields mapped in " + index);
        }
        // Not mapped, but kept in _source and returned to readers.
        JsonNode hit = http.send("POST", "/events-*/_search",
            "{\"query\":{\"term\":{\"event_id\":\"wide-payload\"}}}").at("/hits/hits/0/_source");
        assertEquals("gold", hit.get("profile_tier").asText());
        assertEquals(60, hit.get("payload").size() - 1, "payload keys kept in _source");
        // payload is opaque: any JSON shape is accepted (nothing lands in Firehose's failed-documents backup).
        JsonNode scalar = http.send("POST", "/events-*/_search",
            "{\"query\":{\"term\":{\"event_id\":\"scalar-payload\"}}}").at("/hits/hits/0/_source");
        assertEquals("just a string", scalar.get("payload").asText());
    }

    @Test
    void timestampAcceptsIsoWithAndWithoutMillisOffsetsAndEpochMillis() throws Exception {
        for (Doc doc : docs) {
            String id = (String) doc.source().get("event_id");
            if (id == null || !id.startsWith("ts-")) {
                continue;
            }
            String at = ISO_MILLIS.format(doc.time());
            JsonNode hits = http.send("POST", "/events-*/_search",
                "{\"query\":{\"range\":{\"timestamp\":{\"gte\":\"" + at + "\",\"lte\":\"" + at + "\"}}}}").get("hits");
            assertEquals(1, hits.at("/total/value").asInt(), "docs at " + at + " (" + id + ")");
            assertEquals(id, hits.at("/hits/0/_source/event_id").asText());
        }
    }

    // ---------------------------------------------------------------- the blueprint's query

    @Test
    void blueprintQueryReturnsTheIndexedCountsPerMinute() throws Exception {
        JsonNode response = http.send("GET", "/events-*/_search", BLUEPRINT_QUERY);
        assertQueryFinishedInsideGuard();

        Map<Long, Long> expected = expectedPerMinute(d -> true);
        Map<Long, Long> actual = nonEmptyBuckets(response);
        System.out.printf("events_per_minute (UTC minute -> count): %s%n", render(actual));
        assertEquals(render(expected), render(actual), "events_per_minute buckets");
        assertEquals(sum(expected), response.at("/hits/total/value").asLong(), "hits.total");
        // The blueprint query counts every document in events-*: aggregates (timestamp = window end) too.
        assertTrue(sum(expectedPerMinute(d -> d.recordType().equals("aggregate"))) > 0, "aggregates in the window");
        assertTrue(expected.size() >= 5, "at least five non-empty minutes");
    }

    @Test
    void recordTypeTermFilterSeparatesEventsFromAggregates() throws Exception {
        for (String type : List.of("event", "aggregate")) {
            JsonNode count = http.send("POST", "/events-*/_count",
                "{\"query\":{\"term\":{\"record_type\":\"" + type + "\"}}}");
            assertEquals(docs.stream().filter(d -> d.recordType().equals(type)).count(), count.get("count").asLong(), type);

            String filtered = "{\"size\":0,\"query\":{\"bool\":{\"filter\":["
                + "{\"range\":{\"timestamp\":{\"gte\":\"now-5m\"}}},"
                + "{\"term\":{\"record_type\":\"" + type + "\"}}]}},"
                + "\"aggs\":{\"events_per_minute\":{\"date_histogram\":{\"field\":\"timestamp\",\"fixed_interval\":\"1m\"}}}}";
            JsonNode response = http.send("GET", "/events-*/_search", filtered);
            assertQueryFinishedInsideGuard();
            assertEquals(render(expectedPerMinute(d -> d.recordType().equals(type))), render(nonEmptyBuckets(response)),
                type + " buckets");
        }
        assertEquals(docs.size(), http.send("GET", "/events-*/_count", null).get("count").asLong(), "all documents");
    }

    // ---------------------------------------------------------------- idempotent documents

    @Test
    void everyRecordIsOneDocumentUnderItsOwnIdInTheDailyIndexOfItsOwnTimestamp() throws Exception {
        JsonNode hits = http.send("POST", "/events-*/_search",
            "{\"size\":10000,\"version\":true,\"_source\":[\"record_type\",\"count\"],\"query\":{\"match_all\":{}}}").get("hits");
        assertEquals(docs.size(), hits.at("/total/value").asLong(), "documents in events-*");
        // index/_id -> what must be stored there: an event, or an aggregate at version = its newest count.
        Map<String, String> expected = new TreeMap<>();
        for (Doc d : docs) {
            String what = d.recordType().equals("aggregate") ? "aggregate count=version=" + d.source().get("count") : "event";
            assertEquals(null, expected.put(d.storedIndex() + "/" + d.id(), what), "two records with one id: " + d.id());
        }
        Map<String, String> actual = new TreeMap<>();
        for (JsonNode hit : hits.get("hits")) {
            String what = "event";
            if (hit.at("/_source/record_type").asText().equals("aggregate")) {
                long count = hit.at("/_source/count").asLong();
                assertEquals(count, hit.get("_version").asLong(), "aggregate _version = count: " + hit);
                what = "aggregate count=version=" + count;
            }
            assertEquals(null, actual.put(hit.get("_index").asText() + "/" + hit.get("_id").asText(), what), "hit twice: " + hit);
        }
        assertEquals(expected, actual, "index/_id of every document");
        // No index is named after a delivery day alone: the bulk targets were only names.
        Set<String> indices = new TreeSet<>();
        http.send("GET", "/_cat/indices/events-*?format=json&h=index", null).forEach(i -> indices.add(i.get("index").asText()));
        assertEquals(new TreeSet<>(docs.stream().map(Doc::storedIndex).toList()), indices, "daily indices");
    }

    @Test
    void redeliveriesAreAcceptedAndOnlyOlderCountsAreRefusedWith409() throws Exception {
        Map<String, Long> newest = docs.stream().filter(d -> d.recordType().equals("aggregate"))
            .collect(Collectors.toMap(Doc::id, d -> (Long) d.source().get("count")));
        Map<String, Map<String, Long>> outcomes = new LinkedHashMap<>();
        for (Map.Entry<String, Delivery> delivery : redeliveries.entrySet()) {
            List<Doc> sent = delivery.getValue().sent();
            JsonNode items = delivery.getValue().response().get("items");
            Map<String, Long> outcome = new TreeMap<>();
            for (int i = 0; i < sent.size(); i++) {
                Doc d = sent.get(i);
                JsonNode item = items.get(i).get("index");
                String where = delivery.getKey() + " #" + i + " " + d.id() + ": " + item;
                assertEquals(d.id(), item.get("_id").asText(), where);
                assertEquals(d.storedIndex(), item.get("_index").asText(), where);
                boolean aggregate = d.recordType().equals("aggregate");
                long count = aggregate ? (Long) d.source().get("count") : 0;
                // During "re-fired windows" the newest count is the one being sent.
                if (aggregate && count < newest.get(d.id()) && !delivery.getKey().equals("reverse, bulk ids, next day")) {
                    assertEquals(409, item.get("status").asInt(), where);
                    assertEquals("version_conflict_engine_exception", item.at("/error/type").asText(), where);
                    assertEquals("[" + d.id() + "]: version conflict, current version [" + newest.get(d.id())
                        + "] is higher than the one provided [" + count + "]", item.at("/error/reason").asText(), where);
                    outcome.merge("409 older count refused", 1L, Long::sum);
                } else {
                    assertEquals(200, item.get("status").asInt(), where);
                    assertEquals("updated", item.get("result").asText(), where);
                    if (aggregate) {
                        assertEquals(count, item.get("_version").asLong(), where);
                    }
                    outcome.merge("200 " + d.recordType(), 1L, Long::sum);
                }
            }
            outcomes.put(delivery.getKey(), outcome);
        }
        System.out.printf("redeliveries (outcome -> items): %s%n", outcomes);
        long events = docs.stream().filter(d -> d.recordType().equals("event")).count();
        long aggregates = docs.size() - events;
        long refiredWindows = refired.size();
        assertEquals(Map.of(
            "reverse, bulk ids, next day", Map.of("200 event", events, "200 aggregate", aggregates),
            "re-fired windows", Map.of("200 aggregate", refiredWindows),
            "stale counts and events, shuffled", Map.of("200 event", events, "409 older count refused", aggregates + refiredWindows),
            "same versions again", Map.of("200 event", events, "200 aggregate", aggregates)), outcomes);
        assertTrue(refiredWindows >= 12, "re-fired windows: " + refiredWindows);
    }

    @Test
    void sumOfAggregatesIsTheSumOfTheNewestCounts() throws Exception {
        JsonNode aggs = http.send("POST", "/events-*/_search",
            "{\"size\":0,\"query\":{\"term\":{\"record_type\":\"aggregate\"}},"
                + "\"aggs\":{\"total\":{\"sum\":{\"field\":\"count\"}},\"windows\":{\"cardinality\":{\"field\":\"aggregate_id\"}}}}")
            .get("aggregations");
        long expected = docs.stream().filter(d -> d.recordType().equals("aggregate")).mapToLong(d -> (Long) d.source().get("count")).sum();
        long windows = docs.stream().filter(d -> d.recordType().equals("aggregate")).count();
        System.out.printf("sum of aggregate counts: %d over %d windows (expected %d over %d)%n",
            aggs.at("/total/value").asLong(), aggs.at("/windows/value").asLong(), expected, windows);
        assertEquals(expected, aggs.at("/total/value").asLong(), "sum of count");
        assertEquals(windows, aggs.at("/windows/value").asLong(), "distinct aggregate_id");
    }

    @Test
    void aDayBoundaryKeepsEachEventInTheIndexOfItsOwnDay() throws Exception {
        Set<String> days = new TreeSet<>();
        for (long offsetMillis : MIDNIGHT_OFFSETS_MILLIS) {
            String id = midnightId(offsetMillis);
            Doc doc = docs.stream().filter(d -> id.equals(d.id())).findFirst().orElseThrow();
            // Delivered three times: on the day after its own (twice, in two requests) and on the day after that.
            JsonNode hits = http.send("POST", "/events-*/_search", "{\"query\":{\"ids\":{\"values\":[\"" + id + "\"]}}}").get("hits");
            assertEquals(1, hits.at("/total/value").asInt(), id);
            assertEquals(doc.storedIndex(), hits.at("/hits/0/_index").asText(), id);
            // Firehose named the day after midnight in the bulk action: right for the events after it only.
            assertEquals(offsetMillis > 0, doc.storedIndex().equals(doc.index()), id + " delivered into " + doc.index());
            days.add(hits.at("/hits/0/_index").asText());
        }
        assertEquals(2, days.size(), "the boundary events are in two daily indices: " + days);
    }

    @Test
    void anIndexFromBeforeTheSetupGotTheDefaultPipelineToo() throws Exception {
        JsonNode settings = http.send("GET", "/" + PRE_EXISTING_INDEX + "/_settings", null).at("/" + PRE_EXISTING_INDEX + "/settings/index");
        assertEquals("events-idempotent", settings.get("default_pipeline").asText());
        JsonNode hits = http.send("POST", "/" + PRE_EXISTING_INDEX + "/_search", "{\"version\":true}").get("hits");
        assertEquals(1, hits.at("/total/value").asInt(), "one document after four deliveries: " + hits);
        assertEquals("pre-existing-index", hits.at("/hits/0/_id").asText());
    }

    @Test
    void aRecordWithoutItsIdIsRefusedWithTheReasonNotGivenARandomId() throws Exception {
        String ts = ISO_MILLIS.format(base.minus(Duration.ofHours(5)));
        List<Map<String, Object>> bad = List.of(
            Map.of("record_type", "event", "customer_id", "c-001", "timestamp", ts),
            Map.of("record_type", "event", "event_id", "", "timestamp", ts),
            Map.of("record_type", "aggregate", "customer_id", "c-001", "version", 3, "count", 3, "timestamp", ts),
            Map.of("record_type", "aggregate", "aggregate_id", "c-001|x", "count", 3, "timestamp", ts),
            Map.of("record_type", "aggregate", "aggregate_id", "c-001|x", "version", "three", "count", 3, "timestamp", ts),
            Map.of("event_id", "no-type", "timestamp", ts),
            Map.of("record_type", "click", "event_id", "odd-type", "timestamp", ts),
            Map.of("record_type", "event", "event_id", "no-time"));
        // One bulk request per record: see below for several failures in one request.
        List<String> actual = new ArrayList<>();
        for (Map<String, Object> source : bad) {
            JsonNode item = http.send("POST", "/_bulk", "{\"index\":{\"_index\":\"" + todayIndex + "\"}}\n"
                + OpenSearchHttp.JSON.writeValueAsString(source) + "\n", "application/x-ndjson").at("/items/0/index");
            actual.add(item.get("status").asInt() + " " + item.at("/error/type").asText() + ": " + item.at("/error/reason").asText());
        }
        String fail = "500 fail_processor_exception: events-idempotent: ";
        List<String> expected = List.of(
            fail + "a record_type event record needs event_id (its document id); this record has none, so it is not indexed",
            "400 illegal_argument_exception: if _id is specified it must not be empty",
            fail + "a record_type aggregate record needs aggregate_id (its document id); this record has none, so it is not indexed",
            fail + "a record_type aggregate record needs an integer version (the window's count so far); this record has none or a non-integer one, so it is not indexed",
            fail + "a record_type aggregate record needs an integer version (the window's count so far); this record has none or a non-integer one, so it is not indexed",
            fail + "the record has no record_type (one of: event, aggregate), so it is not indexed",
            "500 illegal_state_exception: Pipeline processor configured for non-existent pipeline [events-idempotent-click]",
            fail + "the record needs a timestamp (ISO-8601 or epoch milliseconds) to choose its daily index; field [timestamp] not present as part of path [timestamp]");
        assertEquals(expected, actual);

        // All of them in one request, between redeliveries of good records: the failed slots are
        // exactly the bad records (what Firehose backs up), but OpenSearch 2.19.6 hands out the
        // reasons among the failed slots in the order the failures happened, not in slot order
        // (so a backed-up record may carry another failed record's reason): compared as a multiset.
        List<Doc> good = docs.stream().filter(d -> d.recordType().equals("event")).limit(bad.size() + 1).toList();
        StringBuilder ndjson = new StringBuilder();
        for (int i = 0; i < bad.size(); i++) {
            ndjson.append("{\"index\":{\"_index\":\"").append(good.get(i).index()).append("\"}}\n")
                .append(OpenSearchHttp.JSON.writeValueAsString(good.get(i).source())).append('\n')
                .append("{\"index\":{\"_index\":\"").append(todayIndex).append("\"}}\n")
                .append(OpenSearchHttp.JSON.writeValueAsString(bad.get(i))).append('\n');
        }
        JsonNode items = http.send("POST", "/_bulk", ndjson.toString(), "application/x-ndjson").get("items");
        List<String> mixed = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            JsonNode item = items.get(i).get("index");
            if (i % 2 == 0) {
                assertEquals(200, item.get("status").asInt(), "good record in slot " + i + ": " + item);
                assertEquals(good.get(i / 2).id(), item.get("_id").asText());
            } else {
                mixed.add(item.get("status").asInt() + " " + item.at("/error/type").asText() + ": " + item.at("/error/reason").asText());
            }
        }
        assertEquals(expected.stream().sorted().toList(), mixed.stream().sorted().toList(), "reasons of the failed slots");
        http.send("POST", "/events-*/_refresh", null);
        assertEquals(docs.size(), http.send("GET", "/events-*/_count", null).get("count").asLong(), "nothing indexed");
    }

    // ---------------------------------------------------------------- data generation

    /**
     * "now", chosen so that the newest Flink window end (a multiple of 5 minutes) is 2..260 s old:
     * then it is inside now-5m and the window before it is outside, whatever the query delay.
     */
    static Instant captureBase() throws InterruptedException {
        Instant now = Instant.now();
        long phase = now.getEpochSecond() % WINDOW.toSeconds();
        if (phase < 2 || phase > 260) {
            long waitSeconds = (phase < 2 ? 2 - phase : WINDOW.toSeconds() - phase + 2);
            System.out.printf("waiting %d s to stay clear of a 5-minute window boundary%n", waitSeconds);
            Thread.sleep(waitSeconds * 1000);
            now = Instant.now();
        }
        return now.truncatedTo(ChronoUnit.SECONDS);
    }

    static List<Doc> generate(Instant base) {
        List<Doc> out = new ArrayList<>();
        // Recent enriched events: "minute j" holds 3 + j events at ages 60j+5 .. 60j+25 s.
        // Even ones carry whole-second ISO timestamps, odd ones millis (and are 250 ms younger).
        for (int j = 0; j < 10; j++) {
            int n = 3 + j;
            for (int i = 0; i < n; i++) {
                long ageSeconds = 60L * j + 5 + (20L * i) / n;
                boolean millis = i % 2 == 1;
                Instant t = base.minusSeconds(ageSeconds).plusMillis(millis ? 250 : 0);
                String[] customer = CUSTOMERS[(i + j) % CUSTOMERS.length];
                out.add(event(base, "recent-" + j + "-" + i, t, millis ? ISO_MILLIS.format(t) : ISO_SECONDS.format(t),
                    customer, EVENT_TYPES[i % EVENT_TYPES.length], Map.of("page", "/p/" + i)));
            }
        }
        // Flink 5-minute tumbling-window counts for three customers over the last hour; timestamp = window end.
        Instant newestWindowEnd = Instant.ofEpochSecond(base.getEpochSecond() / WINDOW.toSeconds() * WINDOW.toSeconds());
        for (int w = 0; w < 12; w++) {
            Instant end = newestWindowEnd.minus(WINDOW.multipliedBy(w));
            for (int c = 0; c < 3; c++) {
                Map<String, Object> source = new LinkedHashMap<>();
                long count = (long) (w + 1) * (c + 2);
                source.put("record_type", "aggregate");
                // The Flink job's identity of a window (customer_id + window_start) and its version (= count).
                source.put("aggregate_id", CUSTOMERS[c][0] + "|" + ISO_MILLIS.format(end.minus(WINDOW)));
                source.put("version", count);
                source.put("customer_id", CUSTOMERS[c][0]);
                source.put("window_start", ISO_MILLIS.format(end.minus(WINDOW)));
                source.put("window_end", ISO_MILLIS.format(end));
                source.put("count", count);
                source.put("timestamp", ISO_MILLIS.format(end));
                out.add(new Doc(deliveryIndex(base, end), end, "aggregate", source));
            }
        }
        // Older events: every 30 minutes over the last 26 hours (spills into yesterday's index) ...
        for (int h = 1; h <= 52; h++) {
            Instant t = base.minus(Duration.ofMinutes(30L * h)).plusSeconds(17);
            out.add(event(base, "old-" + h, t, ISO_MILLIS.format(t), CUSTOMERS[h % CUSTOMERS.length],
                EVENT_TYPES[h % EVENT_TYPES.length], Map.of("page", "/old/" + h)));
        }
        // ... and a batch delivered two days ago.
        for (int k = 0; k < 5; k++) {
            Instant t = base.minus(Duration.ofDays(2)).plusSeconds(k);
            out.add(event(base, "two-days-" + k, t, ISO_SECONDS.format(t), CUSTOMERS[k % CUSTOMERS.length], "click", null));
        }
        // Either side of a midnight UTC at least an hour ago: a day boundary. Delivered a minute
        // after midnight (Firehose names the later day's index), and again a day later by redeliver().
        Instant midnight = LocalDate.ofInstant(base.minus(Duration.ofHours(1)), ZoneOffset.UTC).atStartOfDay(ZoneOffset.UTC).toInstant();
        for (long offsetMillis : MIDNIGHT_OFFSETS_MILLIS) {
            Instant t = midnight.plusMillis(offsetMillis);
            Doc d = event(base, midnightId(offsetMillis), t, ISO_MILLIS.format(t), CUSTOMERS[1], "click", null);
            out.add(new Doc(indexFor(midnight.plusSeconds(60)), t, "event", d.source()));
        }
        // An event of the day of the index that existed before the setup ran.
        out.add(new Doc(PRE_EXISTING_INDEX, PRE_EXISTING_TIME, "event",
            event(base, "pre-existing-index", PRE_EXISTING_TIME, ISO_MILLIS.format(PRE_EXISTING_TIME), CUSTOMERS[2], "click", null).source()));
        // An event_id with characters a template would escape in HTML mode and a URL would
        // escape: the _id must be the event_id byte for byte (the pipeline uses {{{ }}}).
        Instant u = base.minus(Duration.ofHours(4));
        out.add(event(base, ODD_ID, u, ISO_MILLIS.format(u), CUSTOMERS[0], "click", null));
        // Timestamp formats, three hours ago, one second apart.
        Instant f = base.minus(Duration.ofHours(3));
        out.add(event(base, "ts-no-millis", f, ISO_SECONDS.format(f), CUSTOMERS[0], "click", null));
        Instant g = f.plusMillis(1_123);
        out.add(event(base, "ts-millis", g, ISO_MILLIS.format(g), CUSTOMERS[0], "click", null));
        Instant o = f.plusMillis(2_456);
        out.add(event(base, "ts-offset", o, ISO_PLUS_TWO.format(o), CUSTOMERS[0], "click", null));
        Instant e = f.plusMillis(3_789);
        out.add(event(base, "ts-epoch", e, e.toEpochMilli(), CUSTOMERS[0], "click", null));
        // A producer that sends 60 distinct payload keys and a nested object plus an unknown top-level field.
        Map<String, Object> wide = new LinkedHashMap<>();
        for (int k = 0; k < 60; k++) {
            wide.put("attr_" + k, k % 2 == 0 ? "v" + k : k);
        }
        wide.put("nested", Map.of("deep", Map.of("deeper", List.of(1, 2, 3))));
        Instant w = base.minus(Duration.ofHours(2));
        Doc wideDoc = event(base, "wide-payload", w, ISO_MILLIS.format(w), CUSTOMERS[1], "purchase", wide);
        wideDoc.source().put("profile_tier", "gold");
        out.add(wideDoc);
        Doc scalarDoc = event(base, "scalar-payload", w.plusSeconds(1), ISO_MILLIS.format(w.plusSeconds(1)), CUSTOMERS[2], "click", null);
        scalarDoc.source().put("payload", "just a string");
        out.add(scalarDoc);

        // Self-check of the determinism argument (see class comment).
        for (Doc d : out) {
            Duration age = Duration.between(d.time(), base);
            assertFalse(age.isNegative(), "no document from the future: " + d);
            assertFalse(age.compareTo(MAX_INCLUDED_AGE) > 0 && age.compareTo(WINDOW) <= 0,
                "no document in the ambiguous age band (265 s, 300 s]: " + d);
        }
        return out;
    }

    static final long[] MIDNIGHT_OFFSETS_MILLIS = {-1_500, -500, 500};
    static final String ODD_ID = "evt/1?a=b&c=<\"d\"> é {{x}}";

    static String midnightId(long offsetMillis) {
        return "midnight" + (offsetMillis < 0 ? "-before-" : "-after-") + Math.abs(offsetMillis) + "ms";
    }

    static Doc event(Instant base, String id, Instant t, Object timestamp, String[] customer, String type,
                     Map<String, Object> payload) {
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("record_type", "event");
        source.put("event_id", id);
        source.put("customer_id", customer[0]);
        source.put("event_type", type);
        source.put("timestamp", timestamp);
        if (payload != null) {
            source.put("payload", payload);
        }
        source.put("customer_name", customer[1]);
        return new Doc(deliveryIndex(base, t), t, "event", source);
    }

    /** Firehose names the daily index after the delivery time (UTC), not the event time. */
    static String deliveryIndex(Instant base, Instant eventTime) {
        Instant delivered = eventTime.plus(Duration.ofMinutes(1));
        return indexFor(delivered.isAfter(base) ? base : delivered);
    }

    static String indexFor(Instant deliveryTime) {
        return "events-" + LocalDate.ofInstant(deliveryTime, ZoneOffset.UTC);
    }

    void bulkIndex(List<Doc> all) throws Exception {
        JsonNode response = bulk(all, d -> null, Doc::index);
        assertFalse(response.get("errors").asBoolean(), () -> "bulk errors: " + response);
    }

    /**
     * One _bulk request the way Firehose sends it: an `index` action per record into the daily
     * index named after the delivery day, with a bulk _id (FIREHOSE_DEFAULT) or without (NO_DOCUMENT_ID).
     */
    JsonNode bulk(List<Doc> all, Function<Doc, String> bulkId, Function<Doc, String> index) throws Exception {
        StringBuilder ndjson = new StringBuilder();
        for (Doc d : all) {
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("_index", index.apply(d));
            String id = bulkId.apply(d);
            if (id != null) {
                meta.put("_id", id);
            }
            ndjson.append(OpenSearchHttp.JSON.writeValueAsString(Map.of("index", meta))).append('\n');
            ndjson.append(OpenSearchHttp.JSON.writeValueAsString(d.source())).append('\n');
        }
        JsonNode response = http.send("POST", "/_bulk", ndjson.toString(), "application/x-ndjson");
        assertEquals(all.size(), response.get("items").size(), "bulk items");
        return response;
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Runs scripts/opensearch-setup.ts against the node (unsigned, template only) from the repo
     * root, so that tsx and the script's modules resolve from its node_modules; returns its output.
     */
    String runSetupScript() throws Exception {
        ProcessBuilder builder = new ProcessBuilder("npx", "--no-install", "tsx", "scripts/opensearch-setup.ts",
            "--endpoint", node.baseUri().toString(), "--no-sign", "--skip-security")
            .directory(REPO_ROOT.toFile())
            .redirectErrorStream(true);
        Process process = builder.start();
        process.getOutputStream().close();
        byte[] out = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "opensearch-setup still running");
        String output = new String(out, StandardCharsets.UTF_8);
        System.out.print(output);
        assertEquals(0, process.exitValue(), () -> "opensearch-setup failed:\n" + output);
        return output;
    }

    void assertQueryFinishedInsideGuard() {
        Duration elapsed = Duration.between(base, Instant.now());
        assertTrue(elapsed.compareTo(QUERY_GUARD) <= 0,
            "query ended " + elapsed.toMillis() + " ms after the captured now; the data plan is only exact up to "
                + QUERY_GUARD.toSeconds() + " s (machine too slow?)");
    }

    /** Expected date_histogram buckets: epoch-aligned UTC minutes of the documents inside now-5m. */
    Map<Long, Long> expectedPerMinute(Predicate<Doc> filter) {
        return docs.stream()
            .filter(filter)
            .filter(d -> Duration.between(d.time(), base).compareTo(WINDOW) <= 0)
            .collect(Collectors.groupingBy(d -> Math.floorDiv(d.time().toEpochMilli(), 60_000L) * 60_000L,
                TreeMap::new, Collectors.counting()));
    }

    static Map<Long, Long> nonEmptyBuckets(JsonNode response) {
        Map<Long, Long> buckets = new TreeMap<>();
        for (JsonNode bucket : response.at("/aggregations/events_per_minute/buckets")) {
            long key = bucket.get("key").asLong();
            assertEquals(0, key % 60_000L, "bucket key on a minute boundary");
            if (bucket.get("doc_count").asLong() > 0) {
                buckets.put(key, bucket.get("doc_count").asLong());
            }
        }
        return buckets;
    }

    static long sum(Map<Long, Long> buckets) {
        return buckets.values().stream().mapToLong(Long::longValue).sum();
    }

    static String render(Map<Long, Long> buckets) {
        return buckets.entrySet().stream()
            .map(e -> DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneOffset.UTC).format(Instant.ofEpochMilli(e.getKey()))
                + "=" + e.getValue())
            .collect(Collectors.joining(", ", "{", "}"));
    }
}
