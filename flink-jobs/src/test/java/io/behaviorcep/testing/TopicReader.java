package io.behaviorcep.testing;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Reads one topic from the beginning as a downstream consumer of the job would: {@code read_committed},
 * so only output of completed checkpoints is seen. Records accumulate across calls; no consumer
 * group is used, so readers never see each other.
 */
public final class TopicReader implements AutoCloseable {
    private final String topic;
    private final String bootstrapServers;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<TopicPartition> partitions;
    private final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();

    public TopicReader(String bootstrapServers, String topic) {
        this.topic = topic;
        this.bootstrapServers = bootstrapServers;
        this.consumer = consumer(bootstrapServers, "read_committed");
        this.partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrapServers, String isolation) {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class));
    }

    public String topic() {
        return topic;
    }

    /** Everything read so far, after one more short poll. */
    public List<ConsumerRecord<byte[], byte[]>> poll() {
        consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        return Collections.unmodifiableList(new ArrayList<>(records));
    }

    /** Polls until at least {@code count} records match, then returns the matching ones (all of them seen so far). */
    public List<ConsumerRecord<byte[], byte[]>> await(String what, Predicate<ConsumerRecord<byte[], byte[]>> match, int count, Duration timeout) {
        return Await.until(what + " on " + topic, timeout,
                () -> poll().stream().filter(match).toList(), l -> l.size() >= count);
    }

    public ConsumerRecord<byte[], byte[]> awaitOne(String what, Predicate<ConsumerRecord<byte[], byte[]>> match, Duration timeout) {
        return await(what, match, 1, timeout).get(0);
    }

    /**
     * Reads up to the last stable offset of every partition, as it is when called. For output of a job
     * that has finished, that is all of it, unless a transaction was left open (see {@link #openTransactionTail}).
     */
    public List<ConsumerRecord<byte[], byte[]>> readToEnd(Duration timeout) {
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        Await.until("the end of " + topic + " " + end, timeout, () -> {
            poll();
            return partitions.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp));
        });
        return Collections.unmodifiableList(new ArrayList<>(records));
    }

    /**
     * How many offsets lie between the last stable offset and the log end, over all partitions: more
     * than 0 after a job has finished means a transaction is still open, and read_committed readers
     * cannot see past it until the broker aborts it.
     */
    public long openTransactionTail() {
        Map<TopicPartition, Long> stable = consumer.endOffsets(partitions);
        try (KafkaConsumer<byte[], byte[]> uncommitted = consumer(bootstrapServers, "read_uncommitted")) {
            Map<TopicPartition, Long> logEnd = uncommitted.endOffsets(partitions);
            return partitions.stream().mapToLong(tp -> logEnd.get(tp) - stable.get(tp)).sum();
        }
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }

    public static String key(ConsumerRecord<byte[], byte[]> r) {
        return r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
    }

    public static String value(ConsumerRecord<byte[], byte[]> r) {
        return r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8);
    }

    public static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    public static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(TopicReader::value).collect(Collectors.toList());
    }
}
