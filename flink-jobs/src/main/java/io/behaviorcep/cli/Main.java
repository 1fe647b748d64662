package io.behaviorcep.cli;

import io.behaviorcep.serve.ServeCommand;
import io.behaviorcep.serve.ServeKeysCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar behavior-cep-standalone.jar <command>}: the one entry point of the standalone jar. */
@Command(name = "behavior-cep", mixinStandardHelpOptions = true, version = "behavior-cep 0.1.0 (Flink 2.2.1)",
        description = "Complex event processing on user-behaviour events with Apache Flink.",
        subcommands = {LocalCommand.class, RunCommand.class, ValidateCommand.class, TestCommand.class, ReplayCommand.class, MigrateCommand.class,
                ControlCommand.class, ServeCommand.class, ServeKeysCommand.class, DeliverCommand.class, ReportCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
