package io.behaviorcep.serve;

import io.behaviorcep.config.JdbcSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code serve-keys create|list|revoke}: API keys of the read API, in {@code serve_api_keys}. Run it
 * with a user that may write that table (the migrating user), not serve's read-only one.
 */
@Command(name = "serve-keys", mixinStandardHelpOptions = true,
        description = "Create, list and revoke API keys of `serve` (table serve_api_keys; the key is printed once, only its SHA-256 is stored).",
        subcommands = {ServeKeysCommand.Create.class, ServeKeysCommand.ListKeys.class, ServeKeysCommand.Revoke.class})
public final class ServeKeysCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Where the table is: as for {@code migrate}. */
    static final class Database {
        @Option(names = "--jdbc-url", required = true, description = "e.g. jdbc:postgresql://db:5432/behavior?currentSchema=public")
        String url;

        @Option(names = "--user", defaultValue = "behavior_cep")
        String user;

        @Option(names = "--password-env", defaultValue = JdbcSettings.DEFAULT_PASSWORD_ENV,
                description = "environment variable holding the password (default: ${DEFAULT-VALUE})")
        String passwordEnv;

        Connection connect() throws java.sql.SQLException {
            return new JdbcSettings(url, user, passwordEnv, null).connect();
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Make a key and print it, once.")
    static final class Create implements Callable<Integer> {
        @Mixin
        Database db;

        @Option(names = "--name", required = true, description = "who holds the key, e.g. crm-sync (unique)")
        String name;

        @Override
        public Integer call() throws Exception {
            try (Connection c = db.connect()) {
                String key = ApiKeys.create(c, name);
                System.out.println(key);
                System.err.println("key '" + name + "' created; it is shown only now: send it as 'Authorization: Bearer <key>'");
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println(e.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the keys (names, prefixes, when made and revoked; never the keys).")
    static final class ListKeys implements Callable<Integer> {
        @Mixin
        Database db;

        @Override
        public Integer call() throws Exception {
            try (Connection c = db.connect()) {
                List<ApiKeys.KeyInfo> keys = ApiKeys.list(c);
                System.out.printf("%-24s %-12s %-24s %s%n", "name", "prefix", "created", "revoked");
                for (ApiKeys.KeyInfo k : keys) {
                    System.out.printf("%-24s %-12s %-24s %s%n", k.name(), k.keyPrefix() + "…", k.createdAt(),
                            k.revoked() ? k.revokedAt() : "-");
                }
                return 0;
            }
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key: refused from the next request on.")
    static final class Revoke implements Callable<Integer> {
        @Mixin
        Database db;

        @Option(names = "--name", required = true)
        String name;

        @Override
        public Integer call() throws Exception {
            try (Connection c = db.connect()) {
                if (ApiKeys.revoke(c, name)) {
                    System.out.println("key '" + name + "' revoked");
                    return 0;
                }
                System.err.println("no active key named '" + name + "'");
                return 1;
            }
        }
    }
}
