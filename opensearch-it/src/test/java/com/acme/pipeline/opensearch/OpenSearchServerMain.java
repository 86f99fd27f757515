package com.acme.pipeline.opensearch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * The same single-node OpenSearch as the JUnit test ({@link EmbeddedOpenSearchNode}), as a process
 * another program can start and stop: local-aws/opensearch-node.ts runs it for the whole-pipeline
 * command and the Firehose delivery tests.
 *
 * <pre>
 *   java -cp target/test-classes:&lt;test classpath&gt; com.acme.pipeline.opensearch.OpenSearchServerMain \
 *        [--port N] [--port-file PATH] [--home DIR]
 * </pre>
 *
 * <ul>
 *   <li>{@code --port}: HTTP port on 127.0.0.1 (default 0 = a free port the OS picks).</li>
 *   <li>{@code --port-file}: once HTTP is bound, the port is written there (atomically: a
 *       temporary file renamed), so a reader never sees a partial number.</li>
 *   <li>{@code --home}: node home (data, logs). Default: a new temporary directory, deleted on
 *       exit. A given directory is kept.</li>
 * </ul>
 * It also prints {@code OPENSEARCH_HTTP_PORT=<port>} on stdout. It stops (closing the node
 * cleanly) on SIGTERM / SIGINT, and when its stdin reaches end of file: a parent that dies,
 * even by SIGKILL, closes the pipe, so the node never outlives the process that started it.
 */
public final class OpenSearchServerMain {

    private OpenSearchServerMain() {}

    public static void main(String[] args) throws Exception {
        int port = 0;
        Path portFile = null;
        Path home = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (i + 1 >= args.length) throw usage("missing value after " + arg);
            String value = args[++i];
            switch (arg) {
                case "--port" -> {
                    try {
                        port = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        throw usage("--port must be an integer 0-65535, got \"" + value + "\"");
                    }
                    if (port < 0 || port > 65535) throw usage("--port must be 0-65535, got " + port);
                }
                case "--port-file" -> portFile = Path.of(value);
                case "--home" -> home = Path.of(value);
                default -> throw usage("unknown option " + arg + " (allowed: --port, --port-file, --home)");
            }
        }
        boolean temporaryHome = home == null;
        Path nodeHome = temporaryHome ? Files.createTempDirectory("opensearch-node-") : home;
        Files.createDirectories(nodeHome);

        long started = System.nanoTime();
        EmbeddedOpenSearchNode node = EmbeddedOpenSearchNode.start(nodeHome, port);
        long millis = (System.nanoTime() - started) / 1_000_000;
        int boundPort = node.baseUri().getPort();

        CountDownLatch stop = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            try {
                node.close();
            } catch (IOException e) {
                System.err.println("OpenSearch node did not close cleanly: " + e.getMessage());
            }
            if (temporaryHome) deleteTree(nodeHome);
            stop.countDown();
        }, "opensearch-server-stop");
        Runtime.getRuntime().addShutdownHook(closer);

        if (portFile != null) {
            Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
            Files.writeString(tmp, Integer.toString(boundPort), StandardCharsets.US_ASCII);
            Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        System.out.println("OPENSEARCH_HTTP_PORT=" + boundPort);
        System.out.printf("OpenSearch %s started at %s in %d ms%n", EmbeddedOpenSearchNode.version(), node.baseUri(), millis);
        System.out.flush();

        // stdin closed (parent gone or asked us to stop): exit, which runs the shutdown hook.
        Thread stdinWatch = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] buffer = new byte[256];
                while (in.read(buffer) >= 0) {
                    // ignore input; only end of file matters
                }
            } catch (IOException e) {
                // a broken pipe is an end of file too
            }
            System.exit(0);
        }, "opensearch-server-stdin");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        stop.await();
    }

    private static IllegalArgumentException usage(String message) {
        return new IllegalArgumentException(message + "\nusage: OpenSearchServerMain [--port N] [--port-file PATH] [--home DIR]");
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: a temp dir
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
