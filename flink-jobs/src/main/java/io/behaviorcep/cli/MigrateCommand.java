package io.behaviorcep.cli;

import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.sink.SqlMigrations;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.Callable;

/** Applies the sql/ migrations bundled in the jar to a PostgreSQL database (used by the k8s migration Job). */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = "Apply the bundled sql/ migrations (V<n>__*.sql) to PostgreSQL. Idempotent; the password comes from an environment variable.")
public final class MigrateCommand implements Callable<Integer> {
    @Option(names = "--jdbc-url", required = true, description = "e.g. jdbc:postgresql://db:5432/behavior")
    String url;

    @Option(names = "--user", defaultValue = "behavior_cep")
    String user;

    @Option(names = "--password-env", defaultValue = JdbcSettings.DEFAULT_PASSWORD_ENV, description = "environment variable holding the password (default: ${DEFAULT-VALUE})")
    String passwordEnv;

    @Option(names = "--schema", defaultValue = "public")
    String schema;

    @Override
    public Integer call() throws Exception {
        try (Connection c = new JdbcSettings(url, user, passwordEnv, null).connect()) {
            List<String> applied = SqlMigrations.apply(c, schema);
            System.out.println(applied.isEmpty() ? "schema " + schema + " is up to date" : "applied " + applied + " to schema " + schema);
            return 0;
        }
    }
}
