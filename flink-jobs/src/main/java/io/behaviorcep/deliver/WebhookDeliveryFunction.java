package io.behaviorcep.deliver;

import io.behaviorcep.deliver.DeliveryOutcome.Status;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The Flink side of one destination: resolves the destination's secrets on the task manager, hands
 * each alert to a {@link WebhookSender} and passes its outcome on. The alerts in flight are part of
 * the operator's checkpoint (Flink's async operator stores them), so after a restore they are sent
 * again: at least once, made effectively once by the {@code Idempotency-Key}.
 */
public final class WebhookDeliveryFunction extends RichAsyncFunction<AlertToDeliver, DeliveryOutcome> {
    private final Destination destination;
    private transient WebhookSender sender;
    private transient ScheduledExecutorService scheduler;
    private transient Map<Status, Counter> outcomes;
    private transient Counter attempts;

    public WebhookDeliveryFunction(Destination destination) {
        this.destination = destination;
    }

    @Override
    public void open(OpenContext openContext) {
        Map<String, String> headers = HeaderTemplates.resolve(destination.name(), destination.headers(), HeaderTemplates::fromEnvironment);
        String secret = HeaderTemplates.fromEnvironment(destination.signingSecretEnv());
        if (secret == null || secret.isEmpty()) {
            throw new IllegalStateException("destination " + destination.name() + ": the environment variable " + destination.signingSecretEnv()
                    + " (signing_secret_env) is not set on this task manager");
        }
        int subtasks = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "deliver-" + destination.name() + "-waits");
            t.setDaemon(true);
            return t;
        });
        HttpClient client = WebhookSender.newClient(destination.timeout());
        sender = new WebhookSender(destination, headers, secret.getBytes(StandardCharsets.UTF_8), client, scheduler,
                destination.ratePerSecond() / subtasks);
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup("destination", destination.name());
        outcomes = new EnumMap<>(Status.class);
        for (Status s : Status.values()) outcomes.put(s, group.counter(s.wire()));
        attempts = group.counter("attempts");
    }

    @Override
    public void asyncInvoke(AlertToDeliver alert, ResultFuture<DeliveryOutcome> result) {
        if (!alert.valid()) {
            long now = System.currentTimeMillis();
            emit(result, new DeliveryOutcome(null, destination.name(), Status.INVALID, 0, 0, 0,
                    "not an alert: no alert_id (not JSON, or not the alerts format)", now, now, alert));
            return;
        }
        sender.deliver(alert).whenComplete((outcome, error) -> {
            if (outcome != null) emit(result, outcome);
            // cancelled: the operator is closing; the alert is in its checkpoint and is sent again after the restore
        });
    }

    private void emit(ResultFuture<DeliveryOutcome> result, DeliveryOutcome outcome) {
        outcomes.get(outcome.status()).inc();
        attempts.inc(outcome.attempts());
        result.complete(List.of(outcome));
    }

    /**
     * Flink's own timeout, set beyond the destination's retry budget, so it only fires if the budget
     * logic is somehow outlived; the alert is then dead-lettered rather than failing the job.
     */
    @Override
    public void timeout(AlertToDeliver alert, ResultFuture<DeliveryOutcome> result) {
        long now = System.currentTimeMillis();
        emit(result, new DeliveryOutcome(alert.alertId(), destination.name(), Status.DEAD_LETTERED, 0, 0, 0,
                "no outcome within the operator's timeout", now, now, alert));
    }

    @Override
    public void close() {
        if (scheduler != null) scheduler.shutdownNow();
    }
}
