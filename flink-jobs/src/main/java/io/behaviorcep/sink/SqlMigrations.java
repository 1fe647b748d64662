package io.behaviorcep.sink;

import io.behaviorcep.config.ClasspathFolder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Applies the versioned SQL files of {@code sql/} (shipped in the jar under {@code db/migration/})
 * to one schema. It exists so that {@code local}, {@code migrate} and the tests need no Flyway at run
 * time; the naming ({@code V<int>__<description>.sql}) stays Flyway's so the files can be handed to
 * Flyway later unchanged.
 *
 * <p>Each migration runs in its own transaction together with its row in
 * {@code <schema>.schema_migrations}, so a failed migration leaves nothing half-applied. A
 * session-level advisory lock keyed by the schema serialises concurrent runs (two pods starting at
 * once). Applied files are compared by checksum: editing a migration that already ran is refused,
 * because the databases that ran the old text would silently differ from new ones.
 */
public final class SqlMigrations {

    /** Where the build puts the migrations inside the jar or classes directory. */
    public static final String RESOURCE_DIR = "db/migration/";

    private static final Pattern FILE_NAME = Pattern.compile("V(\\d+)__(.+)\\.sql");
    private static final Pattern SCHEMA_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    /** One migration file. The checksum ignores line endings so a Windows checkout is not a change. */
    public record Migration(int version, String description, String fileName, String sql, String checksum) {
        static Migration of(String fileName, String sql) {
            Matcher m = FILE_NAME.matcher(fileName);
            if (!m.matches()) {
                throw new IllegalArgumentException(fileName + " is not named V<version>__<description>.sql");
            }
            return new Migration(Integer.parseInt(m.group(1)), m.group(2).replace('_', ' '), fileName, sql,
                    sha256(sql.replace("\r\n", "\n")));
        }
    }

    private SqlMigrations() {
    }

    /** Applies the migrations shipped with this class (its jar or classes directory). */
    public static List<String> apply(Connection c, String schema) throws SQLException {
        return apply(c, schema, fromClasspath());
    }

    /** Applies the {@code V<int>__<desc>.sql} files of {@code dir}, e.g. a checkout's {@code sql/}. */
    public static List<String> apply(Connection c, String schema, Path dir) throws SQLException {
        return apply(c, schema, fromDirectory(dir));
    }

    /**
     * Runs in auto-commit mode (committing anything left open on {@code c}) and restores the
     * connection's auto-commit setting afterwards.
     *
     * @return the versions applied by this call, in order; empty when the schema was up to date
     * @throws IllegalStateException if a migration already applied to this schema has been edited since
     */
    public static List<String> apply(Connection c, String schema, List<Migration> migrations) throws SQLException {
        checkSchemaName(schema);
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(true);
        lock(c, schema, true);
        try {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
                st.execute("CREATE TABLE IF NOT EXISTS " + schema + ".schema_migrations ("
                        + "version INT PRIMARY KEY, description TEXT NOT NULL, checksum TEXT NOT NULL, "
                        + "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
            }
            Map<Integer, String> applied = appliedChecksums(c, schema);
            // refuse before changing anything, so a bad deploy leaves the schema as it was
            for (Migration m : migrations) {
                String recorded = applied.get(m.version());
                if (recorded != null && !recorded.equals(m.checksum())) {
                    throw new IllegalStateException("Migration " + m.fileName() + " was changed after it was applied to schema "
                            + schema + " (checksum recorded " + recorded + ", now " + m.checksum()
                            + "); restore the original file and put the change in a new migration");
                }
            }
            List<String> done = new ArrayList<>();
            for (Migration m : migrations) {
                if (!applied.containsKey(m.version())) {
                    applyOne(c, schema, m);
                    done.add(Integer.toString(m.version()));
                }
            }
            return done;
        } finally {
            lock(c, schema, false);
            c.setAutoCommit(autoCommit);
        }
    }

    /** Schema names are spliced into SQL, so only plain lower-case identifiers are accepted. */
    public static String checkSchemaName(String schema) {
        if (schema == null || !SCHEMA_NAME.matcher(schema).matches()) {
            throw new IllegalArgumentException("Invalid schema name '" + schema
                    + "': use lower-case letters, digits and underscores, not starting with a digit");
        }
        return schema;
    }

    private static void applyOne(Connection c, String schema, Migration m) throws SQLException {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement();
             PreparedStatement record = c.prepareStatement("INSERT INTO " + schema
                     + ".schema_migrations (version, description, checksum) VALUES (?, ?, ?)")) {
            st.execute("SET LOCAL search_path TO " + schema);
            st.execute(m.sql());
            record.setInt(1, m.version());
            record.setString(2, m.description());
            record.setString(3, m.checksum());
            record.executeUpdate();
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw new SQLException("Migration " + m.fileName() + " failed in schema " + schema + ": " + e.getMessage(),
                    e.getSQLState(), e);
        } finally {
            c.setAutoCommit(true);
        }
    }

    private static Map<Integer, String> appliedChecksums(Connection c, String schema) throws SQLException {
        Map<Integer, String> applied = new TreeMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version, checksum FROM " + schema + ".schema_migrations")) {
            while (rs.next()) {
                applied.put(rs.getInt(1), rs.getString(2));
            }
        }
        return applied;
    }

    private static void lock(Connection c, String schema, boolean acquire) throws SQLException {
        String fn = acquire ? "pg_advisory_lock" : "pg_advisory_unlock";
        try (PreparedStatement st = c.prepareStatement("SELECT " + fn + "(hashtext(?))")) {
            st.setString(1, "behavior-cep.schema_migrations." + schema);
            st.execute();
        }
    }

    /** The migrations bundled with this code (the build copies sql/ to {@link #RESOURCE_DIR}). */
    public static List<Migration> fromClasspath() {
        return sorted(ClasspathFolder.read(RESOURCE_DIR));
    }

    /** Reads {@link #RESOURCE_DIR} from a classes directory or a jar file. */
    static List<Migration> fromLocation(Path location) {
        return sorted(ClasspathFolder.read(location, RESOURCE_DIR));
    }

    public static List<Migration> fromDirectory(Path dir) {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> paths = Files.list(dir)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                if (Files.isRegularFile(p)) {
                    files.put(p.getFileName().toString(), Files.readString(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read migrations from " + dir, e);
        }
        return sorted(files);
    }

    /** Orders by numeric version (V10 after V9); other files, such as a README, are not migrations. */
    private static List<Migration> sorted(Map<String, String> files) {
        TreeMap<Integer, Migration> byVersion = new TreeMap<>();
        files.forEach((name, sql) -> {
            if (FILE_NAME.matcher(name).matches()) {
                Migration m = Migration.of(name, sql);
                Migration clash = byVersion.put(m.version(), m);
                if (clash != null) {
                    throw new IllegalStateException("Migrations " + clash.fileName() + " and " + name
                            + " have the same version " + m.version());
                }
            }
        });
        return List.copyOf(byVersion.values());
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
