package com.acme.pipeline.flink.testutil;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * kinesis-mock (npm {@code kinesis-local}, the project's dev dependency) as a Node subprocess: a
 * plain HTTP/1.1 port and a TLS port that negotiates HTTP/2 by ALPN, which enhanced fan-out
 * (SubscribeToShard) needs. TLS uses the test certificate {@code kinesis-mock-127.0.0.1.json}
 * (self-signed, subject alternative name IP 127.0.0.1); {@link #trustItJvmWide()} puts it in a trust
 * store the JVM's default TLS set-up uses, so the job's clients verify it like a real endpoint.
 * Note: kinesis-mock listens on all interfaces (it has no host setting); the tests only call 127.0.0.1.
 */
public final class KinesisMock implements AutoCloseable {
    public static final String ACCOUNT = "123456789012";

    private final Process process;
    private final int plainPort;
    private final int tlsPort;
    private final Path log;

    private KinesisMock(Process process, int plainPort, int tlsPort, Path log) {
        this.process = process;
        this.plainPort = plainPort;
        this.tlsPort = tlsPort;
        this.log = log;
    }

    private static Path projectRoot() {
        return Paths.get(System.getProperty("user.dir")).resolve("..").normalize();
    }

    public static Path certificateFile() {
        return Paths.get(System.getProperty("user.dir")).resolve("src/test/resources/kinesis-mock-127.0.0.1.json");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    public static KinesisMock start() throws IOException, InterruptedException {
        Path main = projectRoot().resolve("node_modules/kinesis-local/main.js");
        if (!Files.isRegularFile(main)) {
            throw new IllegalStateException("kinesis-mock not found at " + main + " (run npm ci in the project root)");
        }
        int plain = freePort();
        int tls = freePort();
        Path log = Files.createTempFile("kinesis-mock-", ".log");
        ProcessBuilder pb = new ProcessBuilder("node", main.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("AWS_ACCOUNT_ID", ACCOUNT);
        pb.environment().put("AWS_REGION", "us-east-1");
        pb.environment().put("KINESIS_MOCK_CERT_PATH", certificateFile().toAbsolutePath().toString());
        pb.environment().put("KINESIS_MOCK_PLAIN_PORT", Integer.toString(plain));
        pb.environment().put("KINESIS_MOCK_TLS_PORT", Integer.toString(tls));
        pb.environment().put("SHOULD_PERSIST_DATA", "false");
        pb.environment().put("LOG_LEVEL", "WARN");
        KinesisMock mock = new KinesisMock(pb.start(), plain, tls, log);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!mock.process.isAlive()) {
                throw new IllegalStateException("kinesis-mock exited: " + mock.logText());
            }
            try (Socket a = new Socket("127.0.0.1", plain); Socket b = new Socket("127.0.0.1", tls)) {
                return mock;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        mock.close();
        throw new IllegalStateException("kinesis-mock did not listen within 60 s: " + mock.logText());
    }

    /** Trust the test certificate in this JVM (javax.net.ssl.trustStore), before any TLS client starts. */
    public static void trustItJvmWide() throws Exception {
        String json = Files.readString(certificateFile());
        Matcher m = Pattern.compile("\"cert\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no cert in " + certificateFile());
        }
        String pem = m.group(1).replace("\\n", "\n");
        Certificate cert;
        try (InputStream in = new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))) {
            cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("kinesis-mock", cert);
        Path store = Files.createTempFile("kinesis-mock-trust-", ".p12");
        char[] password = "changeit".toCharArray();
        try (var out = Files.newOutputStream(store)) {
            ks.store(out, password);
        }
        store.toFile().deleteOnExit();
        System.setProperty("javax.net.ssl.trustStore", store.toString());
        System.setProperty("javax.net.ssl.trustStorePassword", new String(password));
        System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    }

    public String plainEndpoint() {
        return "http://127.0.0.1:" + plainPort;
    }

    public int tlsPort() {
        return tlsPort;
    }

    public String tlsEndpoint() {
        return "https://127.0.0.1:" + tlsPort;
    }

    public String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        if (!log.toFile().delete()) {
            log.toFile().deleteOnExit();
        }
    }
}
