package io.behaviorcep.serve;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code serve}: the read API over PostgreSQL (docs/operations.md, "Serve the read API"). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the read API (users, segments, patterns) over PostgreSQL. Settings: --key value pairs or --config FILE: "
                + "jdbc.url, jdbc.user, jdbc.password-env, privacy.pseudonymize, privacy.pseudonym-key-env and serve.* (docs/operations.md).")
public final class ServeCommand implements Callable<Integer> {
    /** Everything after {@code serve} is a setting, checked by ServeConfig (unknown keys are refused there). */
    @Unmatched
    List<String> settings = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        ServeConfig config;
        try {
            config = ServeConfig.fromArgs(settings);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        ServeServer server = ServeServer.start(config);
        System.out.printf("serve: listening on %s:%d (read-only connections to %s)%n", config.bindAddress(), server.port(),
                config.jdbc().url());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "serve-shutdown"));
        stopped.await();
        return 0;
    }
}
