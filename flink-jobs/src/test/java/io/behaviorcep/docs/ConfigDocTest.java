package io.behaviorcep.docs;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's configuration table is generated from {@link JobConfig#KEYS}: one source of truth. */
class ConfigDocTest {
    static String expectedTable() {
        StringBuilder sb = new StringBuilder("| key | default | meaning |\n|---|---|---|\n");
        for (Map.Entry<String, String[]> e : JobConfig.KEYS.entrySet()) {
            String def = e.getValue()[0].isEmpty() ? "" : "`" + e.getValue()[0] + "`";
            sb.append("| `").append(e.getKey()).append("` | ").append(def).append(" | ").append(e.getValue()[1]).append(" |\n");
        }
        return sb.toString();
    }

    @Test
    void readmeListsEverySettingWithItsDefault() throws Exception {
        String readme = Files.readString(Repo.root().resolve("README.md"));
        int start = readme.indexOf("<!-- config-table:start");
        int end = readme.indexOf("<!-- config-table:end -->");
        assertThat(start).as("README has the config table markers").isPositive();
        String table = readme.substring(readme.indexOf('\n', start) + 1, end);
        assertThat(table).as("README configuration table; replace it with:\n" + expectedTable()).isEqualTo(expectedTable());
    }
}
