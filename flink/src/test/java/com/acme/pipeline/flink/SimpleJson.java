package com.acme.pipeline.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helper: a flat JSON object to a map (strings, longs, booleans, null). */
final class SimpleJson {
    private SimpleJson() {}

    static Map<String, Object> parseFlat(String json) {
        Map<String, Object> m = new LinkedHashMap<>();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not an object: " + json);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.getCurrentName();
                JsonToken t = p.nextToken();
                switch (t) {
                    case VALUE_STRING: m.put(k, p.getText()); break;
                    case VALUE_NUMBER_INT: m.put(k, p.getLongValue()); break;
                    case VALUE_TRUE: case VALUE_FALSE: m.put(k, p.getBooleanValue()); break;
                    case VALUE_NULL: m.put(k, null); break;
                    default: throw new IllegalArgumentException("nested value for " + k + " in " + json);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }
}
