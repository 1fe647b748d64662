package io.behaviorcep.sink;

import io.behaviorcep.KafkaIO;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.output.OutputJson;

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
        assertThat(r.value().length + r.key().length + headerBytes(r)).isEqualTo(OutputJson.MAX_RECORD_BYTES);
        assertThat(OutputLimitsTest.producerSize(r)).isLessThanOrEqualTo(OutputLimitsTest.DEFAULT_MAX_REQUEST_SIZE);
        assertThat(Arrays.equals(value, 0, r.value().length, r.value(), 0, r.value().length)).as("a prefix of the original").isTrue();
        assertThat(header(r, "dlq.truncated")).isEqualTo("true");
        assertThat(header(r, "dlq.original-value-size")).isEqualTo(Integer.toString(value.length));
        assertThat(header(r, "dlq.original-key-size")).isEqualTo("3");
    }

    private static int headerBytes(ProducerRecord<byte[], byte[]> r) {
        int n = 0;
        for (Header h : r.headers()) n += h.key().getBytes(StandardCharsets.UTF_8).length + h.value().length;
        return n;
    }

    /**
     * Issue 15: a ~940 KiB key (Kafka takes it on the input topic) and a small value fit the budget of
     * key and value, but the headers (the message names the 60 KiB {@code type}) did not count: the
     * producer refused the dead letter (RecordTooLargeException) and the job restarted on it forever.
     */
    @Test
    void theHeadersCountInTheSizeBudget() {
        byte[] key = new byte[940 * 1024];
        Arrays.fill(key, (byte) 'k');
        String type = "t".repeat(60 * 1024);
        byte[] value = ("{\"type\":\"" + type + "\"}").getBytes(StandardCharsets.UTF_8);
        ProducerRecord<byte[], byte[]> r = KafkaIO.deadLetterRecord("dlq", new DeadLetter(DeadLetter.Reason.UNSUPPORTED_TYPE,
                "type '" + type + "' is not one of [track, page]", new RawRecord(key, value, "events", 0, 1)));
        assertThat(OutputLimitsTest.producerSize(r)).isLessThanOrEqualTo(OutputLimitsTest.DEFAULT_MAX_REQUEST_SIZE);
        assertThat(r.key().length + r.value().length + headerBytes(r)).isLessThanOrEqualTo(OutputJson.MAX_RECORD_BYTES);
        assertThat(header(r, "dlq.reason")).isEqualTo("UNSUPPORTED_TYPE");
        assertThat(header(r, "dlq.message")).startsWith("type 'ttt").hasSizeLessThanOrEqualTo(KafkaIO.DLQ_MAX_MESSAGE_CHARS);
        // the message is cut, so key and value still fit whole
        assertThat(header(r, "dlq.truncated")).isNull();
        assertThat(r.key()).isEqualTo(key);
        assertThat(r.value()).isEqualTo(value);

        // a key that leaves no room: cut to a prefix, and the whole still fits with its headers
        byte[] bigKey = new byte[1000 * 1024];
        Arrays.fill(bigKey, (byte) 'k');
        ProducerRecord<byte[], byte[]> cut = KafkaIO.deadLetterRecord("dlq", new DeadLetter(DeadLetter.Reason.UNSUPPORTED_TYPE,
                "type '" + type + "' is not one of [track, page]", new RawRecord(bigKey, value, "events", 0, 1)));
        assertThat(OutputLimitsTest.producerSize(cut)).isLessThanOrEqualTo(OutputLimitsTest.DEFAULT_MAX_REQUEST_SIZE);
        assertThat(cut.key().length + cut.value().length + headerBytes(cut)).isEqualTo(OutputJson.MAX_RECORD_BYTES);
        assertThat(header(cut, "dlq.truncated")).isEqualTo("true");
        assertThat(header(cut, "dlq.original-key-size")).isEqualTo(Integer.toString(bigKey.length));
        assertThat(Arrays.equals(bigKey, 0, cut.key().length, cut.key(), 0, cut.key().length)).as("a prefix of the key").isTrue();
    }
}
