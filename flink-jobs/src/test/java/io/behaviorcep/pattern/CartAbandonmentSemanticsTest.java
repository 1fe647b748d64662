package io.behaviorcep.pattern;

import io.behaviorcep.output.Alert;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.testkit.InMemoryIO;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.min;
import static io.behaviorcep.testing.Events.ordered;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.viewed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped cart-abandonment pattern, end to end through the real pipeline (parse, dedup,
 * profile, CEP, actions) on a MiniCluster, at the edges of its windows.
 */
class CartAbandonmentSemanticsTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static InMemoryIO run(ObjectNode... events) throws Exception {
        List<byte[]> records = new ArrayList<>();
        for (ObjectNode e : events) records.add(bytes(e));
        InMemoryIO io = new InMemoryIO(records);
        Pipelines.run(List.of(Repo.pattern("cart-abandonment")), io);
        return io;
    }

    @Test
    void viewThenAddWithoutOrderRaisesOneAlertAtTheDeadline() throws Exception {
        ObjectNode view = viewed("u1", min(0));
        ObjectNode add = added("u1", min(10));
        InMemoryIO io = run(view, add);

        assertThat(io.alerts()).hasSize(1);
        Alert a = io.alerts().get(0);
        assertThat(a.userId).isEqualTo("u1");
        assertThat(Instant.ofEpochMilli(a.detectedAt)).isEqualTo(min(25));
        assertThat(a.matchedJson).contains(view.get("messageId").asText()).contains(add.get("messageId").asText());
        assertThat(a.payloadJson).isEqualTo("{\"price\":59.9,\"product_id\":\"p-1\",\"product_name\":\"Shoe\"}");
        assertThat(a.profile.events24h).isEqualTo(2);
        assertThat(a.alertId).isEqualTo(io.alerts().get(0).alertId).hasSize(32);

        // enters cart_abandoners at the deadline; the bounded input's final watermark then expires it by TTL
        assertThat(io.segments()).extracting(u -> u.action + "@" + Instant.ofEpochMilli(u.at) + "/" + u.reason)
                .containsExactly("enter@" + min(25) + "/cart-abandonment", "exit@" + min(25).plus(Duration.ofDays(7)) + "/ttl");
    }

    @Test
    void viewMoreThanThirtyMinutesBeforeTheAddDoesNotCount() throws Exception {
        assertThat(run(viewed("u1", min(0)), added("u1", min(31))).alerts()).isEmpty();
    }

    @Test
    void viewExactlyThirtyMinutesBeforeTheAddCounts() throws Exception {
        assertThat(run(viewed("u1", min(0)), added("u1", min(30))).alerts()).hasSize(1);
    }

    @Test
    void orderAtExactlyFifteenMinutesCancels() throws Exception {
        assertThat(run(viewed("u1", min(0)), added("u1", min(5)), ordered("u1", min(20))).alerts()).isEmpty();
    }

    @Test
    void orderOneMillisecondAfterTheDeadlineIsTooLateAndEndsTheSegment() throws Exception {
        Instant late = min(20).plusMillis(1);
        InMemoryIO io = run(viewed("u1", min(0)), added("u1", min(5)), ordered("u1", late));
        assertThat(io.alerts()).hasSize(1);
        assertThat(io.segments()).extracting(u -> u.action + "@" + Instant.ofEpochMilli(u.at) + "/" + u.reason)
                .containsExactly("enter@" + min(20) + "/cart-abandonment", "exit@" + late + "/cart-abandonment");
    }

    @Test
    void orderOfAnotherUserDoesNotCancel() throws Exception {
        InMemoryIO io = run(viewed("u1", min(0)), added("u1", min(5)), ordered("u2", min(6)));
        assertThat(io.alerts()).extracting(a -> a.userId).containsExactly("u1");
    }

    @Test
    void severalViewsBeforeOneAddAreOneAlert() throws Exception {
        InMemoryIO io = run(viewed("u1", min(0)), viewed("u1", min(1)), viewed("u1", min(2)), added("u1", min(3)));
        assertThat(io.alerts()).hasSize(1);
        assertThat(io.segments()).filteredOn(u -> u.action.equals(SegmentUpdate.ENTER)).hasSize(1);
    }

    @Test
    void capAllowsOneAlertPerUserPerDay() throws Exception {
        InMemoryIO io = run(
                viewed("u1", min(0)), added("u1", min(1)),                    // abandoned: alert
                viewed("u1", min(60)), added("u1", min(61)),                  // abandoned again within 24 h: capped
                viewed("u1", min(25 * 60)), added("u1", min(25 * 60 + 1)));   // next day: alert
        assertThat(io.alerts()).extracting(a -> Instant.ofEpochMilli(a.detectedAt))
                .containsExactly(min(16), min(25 * 60 + 16));
    }

    @Test
    void addWithoutAnyViewIsNotAnAbandonmentOfThisPattern() throws Exception {
        assertThat(run(page("u1", min(0)), added("u1", min(1))).alerts()).isEmpty();
    }
}
