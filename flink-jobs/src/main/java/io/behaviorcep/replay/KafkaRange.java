package io.behaviorcep.replay;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.RawRecord;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A range of the live events topic as a bounded input (a backfill): from the first record with a
 * Kafka timestamp at or after {@code from} up to, not including, the first at or after {@code to}.
 * Kafka timestamps are when records were produced (or appended), not the events' own times; the
 * job still reads event time from each event. No offsets are committed: the live job's consumer
 * group is not touched.
 */
public final class KafkaRange implements Serializable {
    public static final String GROUP_ID = "behavior-cep-replay";

    private final JobConfig config;
    private final Instant from;
    private final Instant to;

    /** @param from null: the earliest record; @param to null: the latest when the replay starts */
    public KafkaRange(JobConfig config, Instant from, Instant to) {
        if (config.bootstrapServers().isBlank()) {
            throw new IllegalArgumentException("a Kafka range needs kafka.bootstrap-servers (--kafka.bootstrap-servers HOST:PORT)");
        }
        if (from != null && to != null && !from.isBefore(to)) {
            throw new IllegalArgumentException("--kafka-from " + from + " must be before --kafka-to " + to);
        }
        this.config = config;
        this.from = from;
        this.to = to;
    }

    public String describe() {
        return "kafka " + config.eventsTopic() + " [" + (from == null ? "earliest" : from) + ", " + (to == null ? "latest" : to) + ")";
    }

    public DataStream<RawRecord> stream(StreamExecutionEnvironment env, String runId) {
        KafkaSource<RawRecord> source = KafkaSource.<RawRecord>builder()
                .setBootstrapServers(config.bootstrapServers())
                .setTopics(config.eventsTopic())
                .setGroupId(GROUP_ID)
                .setProperties(config.kafkaProperties())
                .setProperty("commit.offsets.on.checkpoint", "false")
                .setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false")
                .setStartingOffsets(from == null ? OffsetsInitializer.earliest() : OffsetsInitializer.timestamp(from.toEpochMilli()))
                .setBounded(to == null ? OffsetsInitializer.latest() : OffsetsInitializer.timestamp(to.toEpochMilli()))
                .setDeserializer(new Deserializer(runId))
                .build();
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), "Events (Kafka " + config.eventsTopic() + " range)")
                .uid("replay-kafka-range");
    }

    /** How many records the range holds, for the progress bar; -1 if the broker cannot tell. */
    public long estimateRecords() {
        Properties p = new Properties();
        p.putAll(config.kafkaProperties());
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP_ID);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(config.eventsTopic(), Duration.ofSeconds(10));
            if (infos == null) return -1;
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            Map<TopicPartition, Long> begin = c.beginningOffsets(tps, Duration.ofSeconds(10));
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(10));
            Map<TopicPartition, Long> start = offsetsAt(c, tps, from, begin, end);
            Map<TopicPartition, Long> stop = offsetsAt(c, tps, to, end, end);
            long total = 0;
            for (TopicPartition tp : tps) total += Math.max(0, stop.get(tp) - start.get(tp));
            return total;
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static Map<TopicPartition, Long> offsetsAt(KafkaConsumer<byte[], byte[]> c, List<TopicPartition> tps, Instant at,
                                                      Map<TopicPartition, Long> ifNull, Map<TopicPartition, Long> end) {
        Map<TopicPartition, Long> out = new HashMap<>();
        if (at == null) {
            out.putAll(ifNull);
            return out;
        }
        Map<TopicPartition, Long> query = new HashMap<>();
        for (TopicPartition tp : tps) query.put(tp, at.toEpochMilli());
        Map<TopicPartition, OffsetAndTimestamp> found = c.offsetsForTimes(query, Duration.ofSeconds(10));
        for (TopicPartition tp : tps) {
            OffsetAndTimestamp o = found.get(tp);
            out.put(tp, o == null ? end.get(tp) : o.offset());
        }
        return out;
    }

    /** Keeps the bytes and the coordinates (parsing happens in the job) and counts records for the progress bar. */
    static final class Deserializer implements KafkaRecordDeserializationSchema<RawRecord> {
        private final String runId;
        private transient ReplayProgress.Counters counters;

        Deserializer(String runId) {
            this.runId = runId;
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<RawRecord> out) {
            if (counters == null) counters = ReplayProgress.counters(runId);
            counters.records.incrementAndGet();
            out.collect(new RawRecord(r.key(), r.value(), r.topic(), r.partition(), r.offset()));
        }

        @Override
        public TypeInformation<RawRecord> getProducedType() {
            return TypeInformation.of(RawRecord.class);
        }
    }
}
