package io.behaviorcep.cli;

import io.behaviorcep.BehaviorCepJob;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * Runs the job in this JVM against existing Kafka and PostgreSQL (a single-machine deployment);
 * the same settings as {@code flink run -c io.behaviorcep.BehaviorCepJob behavior-cep.jar}.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the job in this JVM against your own Kafka and PostgreSQL. Settings: --key value pairs or --config FILE (see README, Configuration).")
public final class RunCommand implements Callable<Integer> {
    /** Everything after {@code run} is a job setting, checked by JobConfig (unknown keys are refused there). */
    @Unmatched
    List<String> settings = new java.util.ArrayList<>();

    @Override
    public Integer call() throws Exception {
        BehaviorCepJob.main(settings.toArray(new String[0]));
        return 0;
    }
}
