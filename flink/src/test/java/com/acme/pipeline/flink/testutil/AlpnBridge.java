package com.acme.pipeline.flink.testutil;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte pipe between the job's HTTP/2 client and kinesis-mock's TLS port that adds ALPN.
 *
 * <p>The AWS SDK shaded into flink-connector-kinesis 4.3.0-1.19 (2.20.144) speaks HTTP/2 over TLS
 * by prior knowledge: it sends no ALPN extension (aws/aws-sdk-java-v2#2436; ALPN came with
 * {@code ProtocolNegotiation.ALPN}, PR #5794, 2025). kinesis-mock's Node HTTP/2 server requires ALPN
 * "h2" and closes such a connection ("The channel was closed before the protocol could be
 * determined"). This bridge accepts the client's TLS without ALPN, opens TLS to kinesis-mock
 * offering "h2", and copies the HTTP/2 frames both ways unchanged.
 */
public final class AlpnBridge implements AutoCloseable {
    private final SSLServerSocket server;
    private final int targetPort;
    private final Thread acceptor;

    public AlpnBridge(int targetTlsPort) throws Exception {
        this.targetPort = targetTlsPort;
        SSLContext ctx = SSLContext.getInstance("TLS");
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore(), "changeit".toCharArray());
        ctx.init(kmf.getKeyManagers(), null, null);
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        acceptor = new Thread(this::acceptLoop, "alpn-bridge");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The test certificate and its key (kinesis-mock-127.0.0.1.json), for the bridge's own TLS side. */
    private static KeyStore keyStore() throws Exception {
        String json = Files.readString(KinesisMock.certificateFile());
        String key = field(json, "key").replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PrivateKey pk = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(key)));
        Certificate cert = CertificateFactory.getInstance("X.509").generateCertificate(
                new java.io.ByteArrayInputStream(field(json, "cert").getBytes(StandardCharsets.US_ASCII)));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("bridge", pk, "changeit".toCharArray(), new Certificate[] {cert});
        return ks;
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in " + KinesisMock.certificateFile());
        }
        return m.group(1).replace("\\n", "\n");
    }

    public String endpoint() {
        return "https://127.0.0.1:" + server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> connect(client), "alpn-bridge-connect");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
            }
        }
    }

    /**
     * HTTP/2 clients start with the connection preface "PRI * HTTP/2.0": those get ALPN "h2"
     * upstream; anything else (the HTTP/1.1 control-plane clients) gets "http/1.1".
     */
    private void connect(Socket client) {
        try {
            InputStream in = client.getInputStream();
            byte[] head = in.readNBytes(3);
            boolean h2 = "PRI".equals(new String(head, StandardCharsets.US_ASCII));
            SSLSocket upstream = (SSLSocket) SSLContext.getDefault().getSocketFactory().createSocket("127.0.0.1", targetPort);
            SSLParameters params = upstream.getSSLParameters();
            params.setApplicationProtocols(new String[] {h2 ? "h2" : "http/1.1"});
            upstream.setSSLParameters(params);
            upstream.startHandshake();
            if (h2) {
                h2Connections.incrementAndGet();
            }
            upstream.getOutputStream().write(head);
            pipe(in, upstream.getOutputStream(), client, upstream);
            pipe(upstream.getInputStream(), client.getOutputStream(), client, upstream);
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            try {
                client.close();
            } catch (IOException ignored) {
            }
        }
    }

    private final java.util.concurrent.atomic.AtomicInteger h2Connections = new java.util.concurrent.atomic.AtomicInteger();

    /** HTTP/2 connections bridged so far (the EFO subscriptions and the sink's client). */
    public int h2Connections() {
        return h2Connections.get();
    }

    private static void pipe(InputStream in, OutputStream out, Socket a, Socket b) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // one side closed
            } finally {
                try {
                    a.close();
                } catch (IOException ignored) {
                }
                try {
                    b.close();
                } catch (IOException ignored) {
                }
            }
        }, "alpn-bridge-pipe");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
