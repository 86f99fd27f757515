package com.acme.pipeline.flink.testutil;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An HTTP proxy on 127.0.0.1 in front of the moto server that notes the time of every Kinesis
 * GetRecords request per shard (shard id from moto's iterator, base64 of
 * {@code stream:shard:sequence}), so tests measure the request rate a reader really makes.
 */
public final class CountingKinesisProxy implements AutoCloseable {
    private static final Pattern ITERATOR = Pattern.compile("\"ShardIterator\"\\s*:\\s*\"([^\"]+)\"");

    private final HttpServer server;
    private final String target;
    private final Map<String, List<Long>> getRecordsNanos = new ConcurrentHashMap<>();
    private final Map<String, Integer> requests = new ConcurrentHashMap<>();
    /**
     * Writes go to moto one at a time. moto's {@code Shard.put_record} ("Note: this function is not
     * safe for concurrency") numbers a record max + 1 and stores it under that number: two
     * PutRecords on one shard at once, which the job's two sink subtasks make on a one-shard output
     * stream, can get the same number and the second overwrites the first, both acknowledged
     * (measured: 4 threads x 3000 records on one shard, 8 lost). Kinesis itself does not lose
     * acknowledged records, so the harness must not either.
     */
    private final Object writeLock = new Object();

    /** Requests seen, by "X-Amz-Target -> status" (diagnostics). */
    public Map<String, Integer> requests() {
        return new java.util.TreeMap<>(requests);
    }

    public CountingKinesisProxy(String targetEndpoint) throws IOException {
        this.target = targetEndpoint;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::forward);
        server.start();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public void reset() {
        getRecordsNanos.clear();
    }

    /** GetRecords request times (System.nanoTime) per shard id. */
    public Map<String, List<Long>> getRecordsTimes() {
        Map<String, List<Long>> copy = new java.util.TreeMap<>();
        getRecordsNanos.forEach((k, v) -> copy.put(k, new ArrayList<>(v)));
        return copy;
    }

    private void forward(HttpExchange ex) throws IOException {
        try {
            forwardOrFail(ex);
        } catch (IOException | RuntimeException e) {
            requests.merge("proxy error " + e, 1, Integer::sum);
            throw e;
        }
    }

    private void forwardOrFail(HttpExchange ex) throws IOException {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readAllBytes();
        }
        String amzTarget = ex.getRequestHeaders().getFirst("X-Amz-Target");
        if (amzTarget != null && amzTarget.endsWith(".GetRecords")) {
            Matcher m = ITERATOR.matcher(new String(body, StandardCharsets.UTF_8));
            String shard = "?";
            if (m.find()) {
                shard = shardOf(m.group(1));
            }
            getRecordsNanos.computeIfAbsent(shard, k -> new CopyOnWriteArrayList<>()).add(System.nanoTime());
        }
        boolean write = amzTarget != null && (amzTarget.endsWith(".PutRecords") || amzTarget.endsWith(".PutRecord"));
        if (write) {
            synchronized (writeLock) {
                relay(ex, amzTarget, body);
            }
        } else {
            relay(ex, amzTarget, body);
        }
    }

    private void relay(HttpExchange ex, String amzTarget, byte[] body) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(target + ex.getRequestURI()).openConnection();
        c.setRequestMethod(ex.getRequestMethod());
        for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
            String k = h.getKey();
            if (k.equalsIgnoreCase("Host") || k.equalsIgnoreCase("Content-Length")
                    || k.equalsIgnoreCase("Transfer-Encoding") || k.equalsIgnoreCase("Connection")) {
                continue;
            }
            for (String v : h.getValue()) {
                c.addRequestProperty(k, v);
            }
        }
        if (body.length > 0) {
            c.setDoOutput(true);
            c.setFixedLengthStreamingMode(body.length);
            try (OutputStream out = c.getOutputStream()) {
                out.write(body);
            }
        }
        int code = c.getResponseCode();
        requests.merge(amzTarget + " -> " + code, 1, Integer::sum);
        InputStream respIn = code >= 400 ? c.getErrorStream() : c.getInputStream();
        byte[] resp = respIn == null ? new byte[0] : respIn.readAllBytes();
        for (Map.Entry<String, List<String>> h : c.getHeaderFields().entrySet()) {
            if (h.getKey() == null || h.getKey().equalsIgnoreCase("Content-Length")
                    || h.getKey().equalsIgnoreCase("Transfer-Encoding") || h.getKey().equalsIgnoreCase("Connection")) {
                continue;
            }
            ex.getResponseHeaders().put(h.getKey(), h.getValue());
        }
        // one request per connection: no keep-alive races between this server and the SDK's pool
        ex.getResponseHeaders().set("Connection", "close");
        ex.sendResponseHeaders(code, resp.length == 0 ? -1 : resp.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(resp);
        }
    }

    /**
     * moto's iterator: Python {@code base64.encodebytes} of "stream:shard:sequence" (line breaks every
     * 76 characters); the JSON string escapes them and may escape "/" and "=".
     */
    static String shardOf(String jsonString) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < jsonString.length(); i++) {
            char c = jsonString.charAt(i);
            if (c == '\\' && i + 1 < jsonString.length()) {
                char n = jsonString.charAt(++i);
                if (n == 'u' && i + 4 < jsonString.length()) {
                    b.append((char) Integer.parseInt(jsonString.substring(i + 1, i + 5), 16));
                    i += 4;
                } else if (n != 'n' && n != 'r') { // line breaks of base64.encodebytes: dropped
                    b.append(n);
                }
            } else {
                b.append(c);
            }
        }
        try {
            String decoded = new String(Base64.getDecoder().decode(b.toString()), StandardCharsets.UTF_8);
            String[] parts = decoded.split(":");
            return parts.length >= 2 ? parts[1] : decoded;
        } catch (IllegalArgumentException e) {
            return "undecodable iterator";
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
