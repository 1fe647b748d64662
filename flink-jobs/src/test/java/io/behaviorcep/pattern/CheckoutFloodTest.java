package io.behaviorcep.pattern;

import io.behaviorcep.output.Alert;
import io.behaviorcep.testkit.InMemoryIO;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.behaviorcep.testing.Events.at;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.track;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #19: 2,000 {@code Checkout Started} of one user in 17 minutes (a retrying client or a script)
 * raised 2,000 {@code checkout_abandoned} alerts. Every checkout is its own anchor, so without a cap the
 * shipped pattern alerts once per event; the shipped file must carry a cap that holds.
 */
class CheckoutFloodTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    void twoThousandCheckoutsOfOneUserInSeventeenMinutesRaiseOneAlert() throws Exception {
        List<byte[]> records = new ArrayList<>();
        long spacing = Duration.ofMinutes(17).toMillis() / 2000;
        for (int i = 0; i < 2000; i++) {
            // one other user's lone checkout, in event-time order: the cap is per user, it still alerts
            if (i == 600) records.add(bytes(track("shopper", "Checkout Started", at(Duration.ofMillis(i * spacing)))));
            records.add(bytes(track("flooder", "Checkout Started", at(Duration.ofMillis(i * spacing)))));
        }
        InMemoryIO io = new InMemoryIO(records);
        Pipelines.run(List.of(Repo.pattern("checkout-abandonment")), io);

        List<Alert> flooder = io.alerts().stream().filter(a -> a.userId.equals("flooder")).toList();
        assertThat(flooder).hasSize(1);
        // the engine keeps the newest engine.max-runs-per-user-pattern runs of one user (the oldest are
        // dropped), so the alert is the 30-minute deadline of the first checkout still held
        assertThat(flooder.get(0).detectedAt).isBetween(at(Duration.ofMinutes(30)).toEpochMilli(), at(Duration.ofMinutes(47)).toEpochMilli());
        assertThat(io.alerts().stream().filter(a -> a.userId.equals("shopper"))).hasSize(1);
    }
}
