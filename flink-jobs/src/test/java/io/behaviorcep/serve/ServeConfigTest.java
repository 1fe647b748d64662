package io.behaviorcep.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServeConfigTest {

    @Test
    void defaultsAreDocumentedOnes() {
        ServeConfig c = ServeConfig.of(Map.of("jdbc.url", "jdbc:postgresql://db/behavior"));
        assertThat(c.port()).isEqualTo(8090);
        assertThat(c.bindAddress()).isEqualTo("0.0.0.0");
        assertThat(c.rateLimit()).isEqualTo(50);
        assertThat(c.recentAlerts()).isEqualTo(20);
        assertThat(c.pageMaxLimit()).isEqualTo(1000);
        assertThat(c.patternsCache()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.pseudonymize()).isFalse();
        assertThat(c.jdbc().user()).isEqualTo("behavior_cep");
        assertThat(c.jdbc().passwordEnv()).isEqualTo("BEHAVIOR_CEP_JDBC_PASSWORD");
    }

    @Test
    void theJobsConfigFileIsAcceptedAndArgumentsWin(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("job.properties");
        Files.writeString(file, "kafka.bootstrap-servers=k:9093\njdbc.url=jdbc:postgresql://db/behavior\nprivacy.pseudonymize=true\nserve.port=9000\n");
        ServeConfig c = ServeConfig.fromArgs(List.of("--config", file.toString(), "--serve.port", "9100", "--jdbc.user=behavior_cep_reader"));
        assertThat(c.port()).isEqualTo(9100);
        assertThat(c.pseudonymize()).isTrue();
        assertThat(c.jdbc().user()).isEqualTo("behavior_cep_reader");
    }

    @Test
    void unknownKeysAndBadValuesAreAllReported() {
        assertThatThrownBy(() -> ServeConfig.of(Map.of("serve.prot", "1", "serve.rate-limit", "0")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown setting 'serve.prot'")
                .hasMessageContaining("jdbc.url is required")
                .hasMessageContaining("serve.rate-limit must be above 0");
    }
}
