package io.behaviorcep.sink;

import io.behaviorcep.sink.SqlMigrations.Migration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How migrations are found, without a database (that part is in EmbeddedServicesTest). The jar case
 * matters because {@code migrate} and {@code local} run from the shaded jar, where a class loader
 * cannot list a directory.
 */
class SqlMigrationsTest {

    @Test
    void findsTheShippedMigrationOnTheClasspath() {
        List<Migration> shipped = SqlMigrations.fromClasspath();
        assertThat(shipped).isNotEmpty();
        assertThat(shipped.get(0).version()).isEqualTo(1);
        assertThat(shipped.get(0).description()).isEqualTo("alerts and segments");
        assertThat(shipped.get(0).sql()).contains("CREATE TABLE IF NOT EXISTS alerts");
    }

    @Test
    void readsMigrationsFromAJarInNumericOrder(@TempDir Path dir) throws IOException {
        Path jar = dir.resolve("app.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            put(out, "db/migration/", null);
            put(out, "db/migration/V10__later.sql", "SELECT 10;");
            put(out, "db/migration/V2__earlier.sql", "SELECT 2;");
            put(out, "db/migration/README.md", "not a migration");
            put(out, "db/migration/old/V3__nested.sql", "SELECT 3;");
            put(out, "other/V4__elsewhere.sql", "SELECT 4;");
        }
        List<Migration> found = SqlMigrations.fromLocation(jar);
        assertThat(found).extracting(Migration::version).containsExactly(2, 10);
        assertThat(found).extracting(Migration::sql).containsExactly("SELECT 2;", "SELECT 10;");
    }

    @Test
    void twoFilesWithOneVersionAreAnError(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("V1__a.sql"), "SELECT 1;");
        Files.writeString(dir.resolve("V01__b.sql"), "SELECT 1;");
        assertThatThrownBy(() -> SqlMigrations.fromDirectory(dir))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("same version 1");
    }

    @Test
    void schemaNamesArePlainIdentifiers() {
        assertThat(SqlMigrations.checkSchemaName("behavior_cep_2")).isEqualTo("behavior_cep_2");
        assertThat(SqlMigrations.checkSchemaName("_x")).isEqualTo("_x");
        for (String bad : new String[] {"Public", "9a", "a b", "a;b", "a\"b", ""}) {
            assertThatThrownBy(() -> SqlMigrations.checkSchemaName(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static void put(JarOutputStream out, String name, String content) throws IOException {
        out.putNextEntry(new JarEntry(name));
        if (content != null) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
        out.closeEntry();
    }
}
