package io.behaviorcep.sink;

import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.RawRecord;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** A dead letter keeps the original key and bytes, and is cut only where it could not be published at all. */
class DeadLetterRecordTest {

    private static String header(ProducerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void keepsTheOriginalBytesAndKey() {
        byte[] value = {'{', (byte) 0xC3, 0x28, '}'};
        byte[] key = "u-1".getBytes(StandardCharsets.UTF_8);
        ProducerRecord<byte[], byte[]> r = KafkaIO.deadLetterRecord("dlq",
                new DeadLetter(DeadLetter.Reason.NOT_JSON, "not UTF-8", new RawRecord(key, value, "events", 1, 42)));
        assertThat(r.value()).isEqualTo(value);
        assertThat(r.key()).isEqualTo(key);
        assertThat(header(r, "dlq.reason")).isEqualTo("NOT_JSON");
        assertThat(header(r, "dlq.source.offset")).isEqualTo("42");
        assertThat(header(r, "dlq.truncated")).isNull();
    }

    @Test
    void aTombstoneBecomesAnEmptyValue() {
        ProducerRecord<byte[], byte[]> r = KafkaIO.deadLetterRecord("dlq",
                new DeadLetter(DeadLetter.Reason.NOT_JSON, "empty record", new RawRecord(null, null, "events", 0, 1)));
        assertThat(r.value()).isEmpty();
    }

    @Test
    void aRecordTooLargeToRepublishWithHeadersIsCutToAPrefixAndSaysSo() {
        byte[] value = new byte[1024 * 1024 - 100];
        Arrays.fill(value, (byte) 'z');
        value[0] = '{';
        byte[] key = "u-1".getBytes(StandardCharsets.UTF_8);
        ProducerRecord<byte[], byte[]> r = KafkaIO.deadLetterRecord("dlq",
                new DeadLetter(DeadLetter.Reason.TOO_LARGE, "too large", new RawRecord(key, value, "events", 0, 1)));
        assertThat(r.key()).isEqualTo(key);
        assertThat(r.value().length + r.key().length).isEqualTo(KafkaIO.DLQ_MAX_KEY_AND_VALUE_BYTES);
        assertThat(Arrays.equals(value, 0, r.value().length, r.value(), 0, r.value().length)).as("a prefix of the original").isTrue();
        assertThat(header(r, "dlq.truncated")).isEqualTo("true");
        assertThat(header(r, "dlq.original-value-size")).isEqualTo(Integer.toString(value.length));
        assertThat(header(r, "dlq.original-key-size")).isEqualTo("3");
    }
}
