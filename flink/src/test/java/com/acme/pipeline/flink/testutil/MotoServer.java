package com.acme.pipeline.flink.testutil;

import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A moto server (AWS emulator) subprocess on 127.0.0.1 and a free port. */
public final class MotoServer implements AutoCloseable {
    /** Default: the project's tool venv, ../.tools/venv/bin/moto_server from flink/. Override: MOTO_SERVER. */
    public static Path binary() {
        String override = System.getenv("MOTO_SERVER");
        if (override != null && !override.isEmpty()) {
            return Paths.get(override);
        }
        return Paths.get(System.getProperty("user.dir")).resolve("../.tools/venv/bin/moto_server").normalize();
    }

    private final Process process;
    private final int port;
    private final Path log;

    private MotoServer(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    public static MotoServer start() throws IOException, InterruptedException {
        Path bin = binary();
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("moto_server binary not found or not executable at " + bin
                    + " (install the project's tools, or set MOTO_SERVER to the moto_server path)");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        Path log = Files.createTempFile("moto-server-", ".log");
        ProcessBuilder pb = new ProcessBuilder(bin.toString(), "-H", "127.0.0.1", "-p", Integer.toString(port))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Process p = pb.start();
        MotoServer server = new MotoServer(p, port, log);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("moto_server exited with " + p.exitValue() + ": " + server.logText());
            }
            try {
                HttpURLConnection c = (HttpURLConnection) new URL(server.endpoint() + "/moto-api/").openConnection();
                c.setConnectTimeout(500);
                c.setReadTimeout(2000);
                int code = c.getResponseCode();
                c.disconnect();
                if (code > 0) {
                    return server;
                }
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        server.close();
        throw new IllegalStateException("moto_server did not answer on port " + port + " within 60 s: " + server.logText());
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
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
        File f = log.toFile();
        if (!f.delete()) {
            f.deleteOnExit();
        }
    }
}
