package com.acme.pipeline.flink.testutil;

import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;

/** The tests' Kinesis client of an emulator and stream set-up: one place for every emulator test. */
public final class TestKinesis {
    private TestKinesis() {}

    /** A synchronous client of the emulator at {@code endpoint} (plain HTTP, the emulators' dummy credentials). */
    public static KinesisClient client(String endpoint, String region) {
        return KinesisClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.of(region))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .build();
    }

    /** Creates a stream, waits (up to 10 s) until it is ACTIVE, and returns its ARN. */
    public static String createActiveStream(KinesisClient kinesis, String name, int shards, String region, String account)
            throws InterruptedException {
        kinesis.createStream(b -> b.streamName(name).shardCount(shards));
        for (int i = 0; i < 100; i++) {
            if (kinesis.describeStreamSummary(b -> b.streamName(name)).streamDescriptionSummary().streamStatus()
                    == StreamStatus.ACTIVE) {
                break;
            }
            Thread.sleep(100);
        }
        return "arn:aws:kinesis:" + region + ":" + account + ":stream/" + name;
    }
}
