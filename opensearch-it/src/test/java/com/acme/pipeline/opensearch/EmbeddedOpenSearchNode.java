package com.acme.pipeline.opensearch;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.script.mustache.MustachePlugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A real, single-node OpenSearch server running inside the test JVM.
 *
 * <p>It is the server's own {@link Node} class (the same one {@code bin/opensearch} boots) with
 * the Netty 4 transport/HTTP module loaded from the classpath, because the {@code opensearch}
 * artifact alone has no HTTP implementation. What the distribution's {@code Bootstrap} adds on
 * top (security manager, JarHell check, bootstrap checks, native memory lock) is not used here.
 * HTTP and transport bind to ephemeral ports on 127.0.0.1; data lives in a temp directory.
 */
final class EmbeddedOpenSearchNode implements AutoCloseable {

    private static final String NODE_NAME = "opensearch-it-node";

    private final Node node;
    private final URI baseUri;

    private EmbeddedOpenSearchNode(Node node, URI baseUri) {
        this.node = node;
        this.baseUri = baseUri;
    }

    /** Starts a node whose home, data and logs live under {@code home}; blocks until HTTP is bound. */
    static EmbeddedOpenSearchNode start(Path home) throws Exception {
        return start(home, 0);
    }

    /**
     * As {@link #start(Path)}, with HTTP on {@code httpPort} of 127.0.0.1 (0 = a free port the OS
     * picks); used by {@link OpenSearchServerMain}.
     */
    static EmbeddedOpenSearchNode start(Path home, int httpPort) throws Exception {
        Settings settings = Settings.builder()
            .put("cluster.name", "opensearch-it")
            .put("node.name", NODE_NAME)
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            // port 0: the OS picks a free loopback port; we read the bound port back below.
            .put("http.port", Integer.toString(httpPort))
            .put("transport.port", "0")
            // The shared build machine's disk may be fuller than the default watermarks allow.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Environment environment =
            InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> NODE_NAME);
        // Netty 4: HTTP. ingest-common + lang-mustache: the processors and `{{field}}` templates of
        // the events-idempotent pipeline (modules of every distribution and of AWS domains).
        Node node = new ClasspathPluginNode(environment,
            List.of(Netty4Plugin.class, IngestCommonPlugin.class, MustachePlugin.class));
        try {
            node.start();
            HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
            InetSocketAddress address = http.boundAddress().publishAddress().address();
            URI uri = URI.create("http://" + address.getHostString() + ":" + address.getPort());
            return new EmbeddedOpenSearchNode(node, uri);
        } catch (Exception | Error e) {
            node.close();
            throw e;
        }
    }

    URI baseUri() {
        return baseUri;
    }

    static String version() {
        return Version.CURRENT.toString();
    }

    @Override
    public void close() throws IOException {
        node.close();
        try {
            if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                throw new IOException("OpenSearch node did not stop within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping OpenSearch node", e);
        }
    }

    /** {@link Node}'s plugin-list constructor is protected; this exposes it for classpath plugins. */
    private static final class ClasspathPluginNode extends Node {
        ClasspathPluginNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }
}
