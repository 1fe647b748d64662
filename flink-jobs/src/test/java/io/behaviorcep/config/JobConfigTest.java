package io.behaviorcep.config;

import io.behaviorcep.event.EventParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobConfigTest {

    @Test
    void defaults() {
        JobConfig c = JobConfig.of(Map.of());
        assertThat(c.bootstrapServers()).isEmpty();
        assertThat(c.groupId()).isEqualTo("behavior-cep");
        assertThat(c.startingOffsets()).isEqualTo("committed-or-earliest");
        assertThat(c.transactionalIdPrefix()).isEqualTo("behavior-cep");
        assertThat(c.transactionTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.kafkaProperties()).isEmpty();
        assertThat(c.eventsTopic()).isEqualTo("behavior.events");
        assertThat(c.alertsTopic()).isEqualTo("behavior.alerts");
        assertThat(c.segmentsTopic()).isEqualTo("behavior.segments");
        assertThat(c.dlqTopic()).isEqualTo("behavior.dlq");
        assertThat(c.lateTopic()).isEqualTo("behavior.late");
        assertThat(c.jdbc()).isNull();
        assertThat(c.patternsPath()).isEqualTo(Path.of("patterns"));
        assertThat(c.patternsWatch()).as("a cluster job runs the patterns it was submitted with unless told to watch").isFalse();
        assertThat(c.patternsWatchInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.patternsActivationDelay()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.patternEventsTopic()).isEqualTo("behavior.pattern-events");
        assertThat(c.checkpointInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.maxOutOfOrderness()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.idleAdvance()).isTrue();
        assertThat(c.dedupTtl()).isEqualTo(Duration.ofHours(24));
        assertThat(c.profileRetention()).isEqualTo(Duration.ofDays(90));
        assertThat(c.parallelism()).isNull();

        EventParser.Limits l = c.limits();
        assertThat(l.maxBytes).isEqualTo(262_144);
        assertThat(l.maxDepth).isEqualTo(16);
        assertThat(l.maxFutureSkew).isEqualTo(Duration.ofHours(1));
        // not configurable: the parser's own defaults
        assertThat(l.maxStringLength).isEqualTo(EventParser.Limits.defaults().maxStringLength);
        assertThat(l.minTimestamp).isEqualTo(EventParser.Limits.defaults().minTimestamp);

        // every key with a default is in the map, no key without one
        assertThat(c.asMap()).containsEntry("kafka.group-id", "behavior-cep")
                .doesNotContainKeys("kafka.bootstrap-servers", "jdbc.url", "parallelism", "kafka.properties.*");
    }

    @Test
    void unknownKeysAreRefusedWithASuggestion() {
        assertThatThrownBy(() -> JobConfig.of(Map.of("kafka.group_id", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown setting 'kafka.group_id'")
                .hasMessageContaining("did you mean 'kafka.group-id'?");
        assertThatThrownBy(() -> JobConfig.of(Map.of("checkpoint.intervall", "5s")))
                .hasMessageContaining("did you mean 'checkpoint.interval'?");
        // nothing close: no suggestion
        assertThatThrownBy(() -> JobConfig.of(Map.of("completely.different.thing", "1")))
                .hasMessageContaining("unknown setting 'completely.different.thing'")
                .hasMessageNotContaining("did you mean");
    }

    @Test
    void everyUnknownKeyIsListed() {
        assertThatThrownBy(() -> JobConfig.of(Map.of("topics.event", "a", "jdbc.usr", "b")))
                .hasMessageContaining("'topics.event'")
                .hasMessageContaining("'jdbc.usr'");
    }

    @Test
    void badValuesAreListedTogetherWithUnknownKeys() {
        assertThatThrownBy(() -> JobConfig.of(Map.of("topics.event", "a", "checkpoint.interval", "often")))
                .hasMessageContaining("'topics.event'")
                .hasMessageContaining("checkpoint.interval");
    }

    @Test
    void aCheckpointMayNotOutliveTheKafkaTransactionItCommits() {
        JobConfig c = JobConfig.of(Map.of());
        assertThat(c.checkpointTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.checkpointInterval().plus(c.checkpointTimeout())).isLessThan(c.transactionTimeout());
        // Flink's own default checkpoint timeout (10 min) would equal the transaction timeout
        assertThatThrownBy(() -> JobConfig.of(Map.of("checkpoint.timeout", "10m")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("checkpoint.interval (10s) + checkpoint.timeout (10m) must be less than kafka.transaction-timeout (10m)");
        assertThatThrownBy(() -> JobConfig.of(Map.of("kafka.transaction-timeout", "5m")))
                .hasMessageContaining("must be less than kafka.transaction-timeout (5m)");
        assertThat(JobConfig.of(Map.of("kafka.transaction-timeout", "5m", "checkpoint.timeout", "4m")).checkpointTimeout())
                .isEqualTo(Duration.ofMinutes(4));
    }

    @Test
    void theLateWarningShareIsANonNegativeNumber() {
        assertThat(JobConfig.of(Map.of()).lateWarningShare()).isEqualTo(0.01);
        assertThat(JobConfig.of(Map.of("events.late-warning-share", "0")).lateWarningShare()).isZero();
        assertThatThrownBy(() -> JobConfig.of(Map.of("events.late-warning-share", "1%"))).hasMessageContaining("must be a number");
        assertThatThrownBy(() -> JobConfig.of(Map.of("events.late-warning-share", "-1"))).hasMessageContaining("0 or more");
    }

    @Test
    void transactionTimeoutAboveFifteenMinutesIsRefused() {
        assertThat(JobConfig.of(Map.of("kafka.transaction-timeout", "15m")).transactionTimeout()).isEqualTo(Duration.ofMinutes(15));
        assertThatThrownBy(() -> JobConfig.of(Map.of("kafka.transaction-timeout", "16m")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kafka.transaction-timeout 16m")
                .hasMessageContaining("15m");
        assertThatThrownBy(() -> JobConfig.of(Map.of("kafka.transaction-timeout", "1h")))
                .hasMessageContaining("transaction.max.timeout.ms");
        assertThatThrownBy(() -> JobConfig.of(Map.of("kafka.transaction-timeout", "900001ms")))
                .hasMessageContaining("exceeds");
    }

    @Test
    void badValuesAreRefused() {
        assertThatThrownBy(() -> JobConfig.of(Map.of("checkpoint.interval", "10 seconds"))).hasMessageContaining("checkpoint.interval");
        assertThatThrownBy(() -> JobConfig.of(Map.of("events.dedup-ttl", "0s"))).hasMessageContaining("events.dedup-ttl");
        assertThatThrownBy(() -> JobConfig.of(Map.of("profile.retention", "-1d"))).hasMessageContaining("profile.retention");
        assertThatThrownBy(() -> JobConfig.of(Map.of("events.max-bytes", "0"))).hasMessageContaining("events.max-bytes must be positive");
        assertThatThrownBy(() -> JobConfig.of(Map.of("events.max-depth", "deep"))).hasMessageContaining("events.max-depth must be a whole number");
        assertThatThrownBy(() -> JobConfig.of(Map.of("kafka.starting-offsets", "newest"))).hasMessageContaining("kafka.starting-offsets");
        assertThatThrownBy(() -> JobConfig.of(Map.of("parallelism", "four"))).hasMessageContaining("parallelism");
    }

    @Test
    void aBooleanIsTrueOrFalseNotAnythingElse() {
        assertThat(JobConfig.of(Map.of("events.idle-advance", "false")).idleAdvance()).isFalse();
        assertThat(JobConfig.of(Map.of("events.idle-advance", "true")).idleAdvance()).isTrue();
        // a typo must not silently mean false
        assertThatThrownBy(() -> JobConfig.of(Map.of("events.idle-advance", "ture")))
                .hasMessageContaining("events.idle-advance");
    }

    @Test
    void parallelismMustBePositive() {
        assertThat(JobConfig.of(Map.of("parallelism", "4")).parallelism()).isEqualTo(4);
        assertThatThrownBy(() -> JobConfig.of(Map.of("parallelism", "0"))).hasMessageContaining("parallelism");
        assertThatThrownBy(() -> JobConfig.of(Map.of("parallelism", "-2"))).hasMessageContaining("parallelism");
    }

    @Test
    void kafkaPropertiesArePassedThrough() {
        JobConfig c = JobConfig.of(Map.of(
                "kafka.properties.security.protocol", "SASL_SSL",
                "kafka.properties.sasl.mechanism", "PLAIN",
                "kafka.group-id", "g"));
        Properties p = c.kafkaProperties();
        assertThat(p).hasSize(2);
        assertThat(p.getProperty("security.protocol")).isEqualTo("SASL_SSL");
        assertThat(p.getProperty("sasl.mechanism")).isEqualTo("PLAIN");
        assertThat(c.get("kafka.properties.security.protocol")).isEqualTo("SASL_SSL");
    }

    @Test
    void jdbcSettings() {
        JobConfig c = JobConfig.of(Map.of("jdbc.url", "jdbc:postgresql://db:5432/cep", "jdbc.user", "u"));
        JdbcSettings j = c.jdbc();
        assertThat(j.url()).isEqualTo("jdbc:postgresql://db:5432/cep");
        assertThat(j.user()).isEqualTo("u");
        assertThat(j.passwordEnv()).isEqualTo(JdbcSettings.DEFAULT_PASSWORD_ENV);
        assertThat(j.literalPassword()).isNull();
        assertThat(JobConfig.of(Map.of("jdbc.url", "jdbc:postgresql://x/y", "jdbc.password", "secret")).jdbc().literalPassword()).isEqualTo("secret");
        assertThat(j.toString()).doesNotContain("secret");
    }

    @Test
    void configFileThenCommandLineOverrides(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("job.properties");
        Files.writeString(file, """
                # production
                kafka.bootstrap-servers=kafka-1:9092,kafka-2:9092
                kafka.group-id=from-file
                checkpoint.interval=30s
                kafka.properties.security.protocol=SSL
                """);
        // the override comes before --config on the command line and still wins
        JobConfig c = JobConfig.fromArgs(new String[] {
                "--kafka.group-id", "from-args", "--config", file.toString(), "--parallelism=3", "--topics.alerts", "my.alerts"});
        assertThat(c.bootstrapServers()).isEqualTo("kafka-1:9092,kafka-2:9092");
        assertThat(c.groupId()).isEqualTo("from-args");
        assertThat(c.checkpointInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.parallelism()).isEqualTo(3);
        assertThat(c.alertsTopic()).isEqualTo("my.alerts");
        assertThat(c.kafkaProperties().getProperty("security.protocol")).isEqualTo("SSL");
        assertThat(c.eventsTopic()).isEqualTo("behavior.events"); // untouched default

        // and after --config, too
        JobConfig d = JobConfig.fromArgs(new String[] {"--config", file.toString(), "--checkpoint.interval", "5s"});
        assertThat(d.checkpointInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(d.groupId()).isEqualTo("from-file");
    }

    @Test
    void anUnknownKeyInTheConfigFileIsRefusedToo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("job.properties");
        Files.writeString(file, "checkpoint.intervl=30s\n");
        assertThatThrownBy(() -> JobConfig.fromArgs(new String[] {"--config", file.toString()}))
                .hasMessageContaining("unknown setting 'checkpoint.intervl'")
                .hasMessageContaining("did you mean 'checkpoint.interval'?");
    }

    @Test
    void malformedCommandLines() {
        assertThatThrownBy(() -> JobConfig.fromArgs(new String[] {"kafka.group-id", "x"})).hasMessageContaining("expected --key value");
        assertThatThrownBy(() -> JobConfig.fromArgs(new String[] {"--kafka.group-id"})).hasMessageContaining("needs a value");
    }

    @Test
    void withReturnsAChangedCopyAndValidates() {
        JobConfig c = JobConfig.of(Map.of());
        JobConfig d = c.with("checkpoint.interval", "1m");
        assertThat(d.checkpointInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.checkpointInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThatThrownBy(() -> c.with("kafka.transaction-timeout", "20m")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void everyKeyIsDocumented() {
        JobConfig.KEYS.forEach((k, v) -> {
            assertThat(v).hasSize(2);
            assertThat(v[1]).as("doc of %s", k).isNotBlank();
        });
        assertThat(JobConfig.KEYS).containsKeys("kafka.bootstrap-servers", "kafka.transaction-timeout", "kafka.properties.*", "events.dedup-ttl");
    }

    @Test
    void patternWatchSettingsAreChecked() {
        JobConfig c = JobConfig.of(Map.of("patterns.watch", "true", "patterns.watch-interval", "500ms", "patterns.activation-delay", "2m"));
        assertThat(c.patternsWatch()).isTrue();
        assertThat(c.patternsWatchInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.patternsActivationDelay()).isEqualTo(Duration.ofMinutes(2));
        assertThatThrownBy(() -> JobConfig.of(Map.of("patterns.watch", "yes", "patterns.watch-interval", "0s", "patterns.activation-delay", "soon")))
                .hasMessageContaining("patterns.watch must be true or false")
                .hasMessageContaining("patterns.watch-interval")
                .hasMessageContaining("patterns.activation-delay");
    }
}
