package io.behaviorcep.cli;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.deliver.DeliverJob;
import io.behaviorcep.deliver.Destination;
import io.behaviorcep.deliver.DestinationsFile;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The webhook delivery job: {@code deliver --destinations destinations.yaml --kafka.bootstrap-servers ...}.
 * In this JVM, or as the entry of a FlinkDeployment ({@code args: [deliver, ...]}, entry class
 * {@code io.behaviorcep.cli.Main}), where main() runs on the JobManager and submits to its cluster.
 */
@Command(name = "deliver", mixinStandardHelpOptions = true,
        description = "POST the alerts of the alerts topic to the webhook destinations of destinations.yaml. Other settings: "
                + "--key value pairs or --config FILE, as for run (kafka.*, topics.alerts, jdbc.*, checkpoint.interval, parallelism).")
public final class DeliverCommand implements Callable<Integer> {
    @Option(names = "--destinations", required = true, description = "destinations.yaml: where alerts go, headers, secrets, retry and rate limits")
    Path destinations;

    @Option(names = "--deliveries-topic", defaultValue = DeliverJob.DEFAULT_DELIVERIES_TOPIC, description = "one record per delivery outcome (default: ${DEFAULT-VALUE})")
    String deliveriesTopic;

    @Option(names = "--delivery-dlq-topic", defaultValue = DeliverJob.DEFAULT_DLQ_TOPIC,
            description = "alerts that were not delivered, original bytes, reason in headers (default: ${DEFAULT-VALUE})")
    String dlqTopic;

    @Option(names = "--check", description = "only read destinations.yaml and print every problem as FILE:LINE:COL: message (exit code 1 if any); start nothing")
    boolean check;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Everything else is a job setting, checked by JobConfig (unknown keys are refused there). */
    @Unmatched
    List<String> settings = new ArrayList<>();

    /**
     * The entry class of k8s/deliver-deployment.yaml: the same arguments as on the command line
     * ({@code deliver --destinations ... --config ...}). Unlike {@link Main#main} it never calls
     * System.exit, which in application mode would end the job manager; a problem is thrown.
     */
    public static void main(String[] args) throws Exception {
        String[] rest = args.length > 0 && args[0].equals("deliver") ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
        DeliverCommand command = new DeliverCommand();
        new picocli.CommandLine(command).parseArgs(rest);
        command.call();
    }

    @Override
    public Integer call() throws Exception {
        if (check) {
            DestinationsFile.Result r = DestinationsFile.read(destinations);
            java.io.PrintWriter out = spec == null ? new java.io.PrintWriter(System.out, true) : spec.commandLine().getOut();
            r.problems().forEach(p -> out.println(p));
            if (r.ok()) {
                out.println(destinations + ": " + r.destinations().size() + " destination(s): "
                        + String.join(", ", r.destinations().stream().map(Destination::name).toList()));
            }
            out.flush();
            return r.ok() ? 0 : 1;
        }
        JobConfig config = JobConfig.fromArgs(settings.toArray(new String[0]));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DeliverJob.prepare(env, config, new DeliverJob.Settings(destinations, deliveriesTopic, dlqTopic));
        env.execute(DeliverJob.JOB_NAME);
        return 0;
    }
}
