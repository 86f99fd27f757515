package com.acme.pipeline.flink;

import com.acme.pipeline.flink.config.ConfigException;
import com.acme.pipeline.flink.config.PipelineConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PipelineConfigTest {
    private static final String IN = "arn:aws:kinesis:eu-west-1:123456789012:stream/acme-ew1-dev-ingest";
    private static final String OUT = "arn:aws:kinesis:eu-west-1:123456789012:stream/acme-ew1-dev-output";

    private static Properties minimal() {
        Properties p = new Properties();
        p.setProperty("aws.region", "eu-west-1");
        p.setProperty("input.stream.arn", IN);
        p.setProperty("output.stream.arn", OUT);
        return p;
    }

    @Test
    void defaults() {
        PipelineConfig c = PipelineConfig.fromProperties(minimal());
        assertThat(c.reader).isEqualTo(PipelineConfig.Reader.POLLING);
        assertThat(c.initialPosition).isEqualTo(PipelineConfig.InitialPosition.LATEST);
        assertThat(c.windowSizeMinutes).isEqualTo(5);
        assertThat(c.allowedLatenessSeconds).isZero();
        assertThat(c.outOfOrdernessSeconds).isEqualTo(30);
        assertThat(c.idlenessSeconds).isEqualTo(60);
        assertThat(c.maxFutureSkew()).hasSeconds(300);
        assertThat(c.pollingInterval()).hasMillis(1000);
        assertThat(c.timestreamEnabled).isFalse();
        assertThat(c.endpointUrl).isNull();
        assertThat(PipelineConfig.streamName(c.inputStreamArn)).isEqualTo("acme-ew1-dev-ingest");
    }

    @Test
    void allKeysSet() {
        Properties p = minimal();
        p.setProperty("input.reader", "efo");
        p.setProperty("input.efo.consumer.name", "flink-aggregator");
        p.setProperty("input.initial.position", "TRIM_HORIZON");
        p.setProperty("window.size.minutes", "1440");
        p.setProperty("window.allowed.lateness.seconds", "3600");
        p.setProperty("watermark.out.of.orderness.seconds", "0");
        p.setProperty("watermark.idleness.seconds", "1");
        p.setProperty("event.max.future.skew.seconds", "0");
        p.setProperty("input.polling.interval.ms", "60000");
        p.setProperty("timestream.enabled", "TRUE");
        p.setProperty("timestream.database", "acme_db");
        p.setProperty("timestream.table", "aggregates");
        p.setProperty("aws.endpoint.url", "http://127.0.0.1:4566");
        PipelineConfig c = PipelineConfig.fromProperties(p);
        assertThat(c.reader).isEqualTo(PipelineConfig.Reader.EFO);
        assertThat(c.efoConsumerName).isEqualTo("flink-aggregator");
        assertThat(c.initialPosition).isEqualTo(PipelineConfig.InitialPosition.TRIM_HORIZON);
        assertThat(c.windowSize().toMinutes()).isEqualTo(1440);
        assertThat(c.allowedLateness().getSeconds()).isEqualTo(3600);
        assertThat(c.outOfOrderness().getSeconds()).isZero();
        assertThat(c.idleness().getSeconds()).isEqualTo(1);
        assertThat(c.maxFutureSkew()).isZero();
        assertThat(c.pollingInterval()).hasSeconds(60);
        assertThat(c.timestreamEnabled).isTrue();
        assertThat(c.timestreamDatabase).isEqualTo("acme_db");
        assertThat(c.endpointUrl).isEqualTo("http://127.0.0.1:4566");
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = ';', value = {
        "window.size.minutes;0;an integer in 1..1440",
        "window.size.minutes;1441;an integer in 1..1440",
        "window.size.minutes;five;an integer in 1..1440",
        "window.allowed.lateness.seconds;-1;an integer in 0..3600",
        "window.allowed.lateness.seconds;3601;an integer in 0..3600",
        "watermark.out.of.orderness.seconds;3601;an integer in 0..3600",
        "watermark.idleness.seconds;0;an integer in 1..3600",
        "event.max.future.skew.seconds;-1;an integer in 0..86400",
        "event.max.future.skew.seconds;86401;an integer in 0..86400",
        "input.polling.interval.ms;199;an integer in 200..60000",
        "input.polling.interval.ms;1s;an integer in 200..60000",
        "input.reader;KCL;one of POLLING | EFO",
        "input.initial.position;AT_TIMESTAMP;one of LATEST | TRIM_HORIZON",
        "timestream.enabled;yes;true | false",
        "aws.region;Europe;an AWS region name",
        "input.stream.arn;acme-ingest;a Kinesis stream ARN",
        "output.stream.arn;arn:aws:sqs:eu-west-1:123456789012:q;a Kinesis stream ARN",
        "aws.endpoint.url;127.0.0.1:4566;an http(s) URL",
    })
    void invalidValueNamesKeyAndAllowedValues(String key, String value, String allowed) {
        Properties p = minimal();
        p.setProperty(key, value);
        assertThatThrownBy(() -> PipelineConfig.fromProperties(p))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'" + key + "'")
                .hasMessageContaining("'" + value + "'")
                .hasMessageContaining(allowed);
    }

    @ParameterizedTest
    @CsvSource({"aws.region", "input.stream.arn", "output.stream.arn"})
    void missingRequiredKey(String key) {
        Properties p = minimal();
        p.remove(key);
        assertThatThrownBy(() -> PipelineConfig.fromProperties(p))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("Missing required configuration key '" + key + "'");
    }

    @Test
    void efoNeedsConsumerName() {
        Properties p = minimal();
        p.setProperty("input.reader", "EFO");
        assertThatThrownBy(() -> PipelineConfig.fromProperties(p))
                .hasMessageContaining("'input.efo.consumer.name'").hasMessageContaining("input.reader = EFO");
    }

    @Test
    void timestreamNeedsDatabaseAndTable() {
        Properties p = minimal();
        p.setProperty("timestream.enabled", "true");
        p.setProperty("timestream.database", "acme_db");
        assertThatThrownBy(() -> PipelineConfig.fromProperties(p))
                .hasMessageContaining("'timestream.table'").hasMessageContaining("timestream.enabled = true");
    }

    @Test
    void missingGroup() {
        assertThatThrownBy(() -> PipelineConfig.fromProperties(null))
                .hasMessageContaining("Missing property group 'pipeline'");
    }

    @Test
    void localJsonFileBothShapes(@TempDir Path dir) throws Exception {
        Path simple = dir.resolve("simple.json");
        Files.writeString(simple, "{\"other\":{\"x\":1},\"pipeline\":{\"aws.region\":\"eu-west-1\","
                + "\"input.stream.arn\":\"" + IN + "\",\"output.stream.arn\":\"" + OUT + "\","
                + "\"window.size.minutes\":2,\"timestream.enabled\":false}}");
        PipelineConfig a = PipelineConfig.load(new String[] {"--config", simple.toString()});
        assertThat(a.windowSizeMinutes).isEqualTo(2);
        assertThat(a.inputStreamArn).isEqualTo(IN);

        Path msf = dir.resolve("msf.json");
        Files.writeString(msf, "[{\"PropertyGroupId\":\"other\",\"PropertyMap\":{}},"
                + "{\"PropertyGroupId\":\"pipeline\",\"PropertyMap\":{\"aws.region\":\"eu-west-1\","
                + "\"input.stream.arn\":\"" + IN + "\",\"output.stream.arn\":\"" + OUT + "\","
                + "\"input.initial.position\":\"TRIM_HORIZON\"}}]");
        PipelineConfig b = PipelineConfig.load(new String[] {"--config", msf.toString()});
        assertThat(b.initialPosition).isEqualTo(PipelineConfig.InitialPosition.TRIM_HORIZON);

        Path noGroup = dir.resolve("nogroup.json");
        Files.writeString(noGroup, "{\"other\":{}}");
        assertThatThrownBy(() -> PipelineConfig.load(new String[] {"--config", noGroup.toString()}))
                .hasMessageContaining("Missing property group 'pipeline'");
    }
}
