package io.behaviorcep.cli;

import io.behaviorcep.local.EmbeddedKafka;
import io.behaviorcep.privacy.ControlRecords;
import io.behaviorcep.testing.TopicReader;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code control erase --user u1 --anonymous-id a1 ...} writes one valid control record; an invalid one is not written. */
class ControlCommandTest {
    @Test
    void writesAControlTheJobAcceptsAndRefusesOneItWouldNot() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopic("ctl", 1, false);
            assertThat(Main.execute("control", "opt_out", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "ctl")).as("no id").isEqualTo(2);
            assertThat(Main.execute("control", "delete", "--user", "u1", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "ctl"))
                    .as("no such type").isEqualTo(2);
            assertThat(Main.execute("control", "erase", "--user", "u1", "--anonymous-id", "a1", "--anonymous-id", "a2",
                    "--request-id", "ticket-1", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "ctl")).isZero();
            try (TopicReader r = new TopicReader(kafka.bootstrapServers(), "ctl")) {
                List<ConsumerRecord<byte[], byte[]>> written = r.readToEnd(Duration.ofSeconds(30));
                assertThat(written).hasSize(1);
                ControlRecords.Control c = ControlRecords.parse(written.get(0).value(), 0);
                assertThat(c.type()).isEqualTo("erase");
                assertThat(c.ids()).containsExactly("u1", "a1", "a2");
                assertThat(c.requestId()).isEqualTo("ticket-1");
            }
        }
    }
}
