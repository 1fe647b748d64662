package io.behaviorcep.sink;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.PipelineIO;
import io.behaviorcep.action.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.EventParser;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.privacy.SuppressionListSource;
import io.behaviorcep.profile.ProfileRecord;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * Output records carry the time they were produced, not event time (which is in their JSON):
 * a replay of old history would otherwise be deleted at once by the topic's retention, and a
 * segment expiry decided ahead of the wall clock refused by the broker.
 *
 * <p>The production connectors: events from Kafka; alerts, segment updates, dead letters and late
 * events to Kafka with exactly-once transactions; alerts, segments, profiles and erasures to
 * PostgreSQL through {@link PostgresSink}, and the suppression list from PostgreSQL, when a JDBC URL
 * is configured.
 */
public class KafkaIO implements PipelineIO {
    private final JobConfig config;
    private final boolean bounded;

    public KafkaIO(JobConfig config) {
        this(config, false);
    }

    /** @param bounded stop at the offsets that are latest when the job starts (tests, backfills) */
    public KafkaIO(JobConfig config, boolean bounded) {
        this.config = config;
        this.bounded = bounded;
    }

    @Override
    public DataStream<ParsedRecord> events(StreamExecutionEnvironment env, EventIngest ingest) {
        KafkaSourceBuilder<ParsedRecord> b = KafkaSource.<ParsedRecord>builder()
                .setBootstrapServers(config.bootstrapServers())
                .setTopics(config.eventsTopic())
                .setGroupId(config.groupId())
                .setProperties(config.kafkaProperties())
                .setStartingOffsets(startingOffsets())
                .setDeserializer(new ParsingDeserializer(ingest));
        if (bounded) b.setBounded(OffsetsInitializer.latest());
        // parsed and stamped in the source: event time per partition (PartitionWatermarks)
        return env.fromSource(b.build(), ingest.watermarks(), "Events (Kafka " + config.eventsTopic() + ")")
                .uid(BehaviorCepPipeline.UID_SOURCE);
    }

    private OffsetsInitializer startingOffsets() {
        return switch (config.startingOffsets()) {
            case "earliest" -> OffsetsInitializer.earliest();
            case "latest" -> OffsetsInitializer.latest();
            default -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
        };
    }

    @Override
    public void alerts(DataStream<Alert> alerts) {
        String topic = config.alertsTopic();
        alerts.sinkTo(kafkaSink("alerts", (a, ctx, ts) -> new ProducerRecord<>(topic, null, null,
                        utf8(a.userId), OutputJson.bytes(OutputJson.alert(a)))))
                .uid("alerts-kafka").name("Alerts → Kafka " + config.alertsTopic());
        if (config.jdbc() != null) {
            alerts.sinkTo(PostgresSink.alerts(config.jdbc())).uid("alerts-postgres").name("Alerts → PostgreSQL");
        }
    }

    @Override
    public void segmentUpdates(DataStream<SegmentUpdate> updates) {
        String topic = config.segmentsTopic();
        updates.sinkTo(kafkaSink("segments", (u, ctx, ts) -> new ProducerRecord<>(topic, null, null,
                        utf8(u.userId + "|" + u.segment), OutputJson.bytes(OutputJson.segment(u)))))
                .uid("segments-kafka").name("Segments → Kafka " + config.segmentsTopic());
        if (config.jdbc() != null) {
            updates.sinkTo(PostgresSink.segments(config.jdbc())).uid("segments-postgres").name("Segments → PostgreSQL");
        }
    }

    @Override
    public void profileRecords(DataStream<ProfileRecord> records) {
        if (config.jdbc() != null) {
            records.sinkTo(PostgresSink.profiles(config.jdbc())).uid("profiles-postgres").name("Profiles & erasures → PostgreSQL");
        }
    }

    /** With PostgreSQL configured: the rows of {@code suppressed_users} as they change (read once when bounded). */
    @Override
    public DataStream<BehaviorEvent> suppressionList(StreamExecutionEnvironment env) {
        if (config.jdbc() == null) return null;
        return env.fromSource(new SuppressionListSource(config.jdbc(), config.suppressionRefresh(), bounded),
                        SuppressionListSource.watermarks(), "Suppression list (PostgreSQL suppressed_users)")
                .setParallelism(1)
                .uid(BehaviorCepPipeline.UID_SUPPRESSION_LIST);
    }

    @Override
    public void deadLetters(DataStream<DeadLetter> deadLetters) {
        String topic = config.dlqTopic();
        deadLetters.sinkTo(kafkaSink("dlq", (d, ctx, ts) -> deadLetterRecord(topic, d))).uid("dlq-kafka").name("Dead letters → Kafka " + config.dlqTopic());
    }

    @Override
    public void lateEvents(DataStream<BehaviorEvent> late) {
        String topic = config.lateTopic();
        late.sinkTo(kafkaSink("late", (e, ctx, ts) -> new ProducerRecord<>(topic, null, null,
                        utf8(e.userKey), OutputJson.bytes(OutputJson.event(e)))))
                .uid("late-kafka").name("Late events → Kafka " + config.lateTopic());
    }

    /**
     * Pattern changes accepted or rejected by the running job, keyed by pattern id. At least once
     * and outside transactions: an operator (and {@code local}) sees a change the moment the job
     * decides it, not a checkpoint later; after a restore a record may appear twice, which an audit
     * trail of changes tolerates.
     */
    @Override
    public void patternEvents(DataStream<String> records) {
        String topic = config.patternEventsTopic();
        records.sinkTo(KafkaSink.<String>builder()
                        .setBootstrapServers(config.bootstrapServers())
                        .setKafkaProducerConfig(config.kafkaProperties())
                        .setRecordSerializer((KafkaRecordSerializationSchema<String>) (json, ctx, ts) -> new ProducerRecord<>(topic, null, null,
                                utf8(patternIdOf(json)), utf8(json)))
                        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                        .build())
                .setParallelism(1).uid("pattern-events-kafka").name("Pattern events → Kafka " + topic);
    }

    private static String patternIdOf(String json) {
        try {
            com.fasterxml.jackson.databind.JsonNode id = PATTERN_EVENT_JSON.readTree(json).get("pattern_id");
            return id == null || id.isNull() ? null : id.asText();
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper PATTERN_EVENT_JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * Key and value of a dead letter together stay below this (1 MiB less 16 KiB), so that with its headers
     * it fits a default producer's {@code max.request.size} and a default topic's {@code max.message.bytes}
     * (both about 1 MiB); larger originals are cut to it (headers {@code dlq.truncated},
     * {@code dlq.original-key-size}, {@code dlq.original-value-size}).
     */
    public static final int DLQ_MAX_KEY_AND_VALUE_BYTES = 1024 * 1024 - 16 * 1024;

    /**
     * The original bytes and key, untouched (unless larger than {@link #DLQ_MAX_KEY_AND_VALUE_BYTES}), so a fixed record can be re-published as is; why it
     * was refused and where it came from travel in headers (the Kafka Connect DLQ convention).
     */
    public static ProducerRecord<byte[], byte[]> deadLetterRecord(String topic, DeadLetter d) {
        byte[] key = d.key;
        byte[] value = d.value == null ? new byte[0] : d.value;
        int keyLength = key == null ? 0 : key.length;
        boolean truncated = keyLength + value.length > DLQ_MAX_KEY_AND_VALUE_BYTES;
        if (truncated) {
            // A record that filled the input's size limit cannot be re-published whole with headers added: the
            // producer (max.request.size) or broker would refuse it, the sink would fail, and the job would
            // restart on the same record forever. Keep what fits, and say so.
            if (keyLength > DLQ_MAX_KEY_AND_VALUE_BYTES / 2) key = java.util.Arrays.copyOf(key, DLQ_MAX_KEY_AND_VALUE_BYTES / 2);
            value = java.util.Arrays.copyOf(value, DLQ_MAX_KEY_AND_VALUE_BYTES - (key == null ? 0 : key.length));
        }
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, null, key, value);
        if (truncated) {
            r.headers().add(new RecordHeader("dlq.truncated", utf8("true")));
            r.headers().add(new RecordHeader("dlq.original-key-size", utf8(Integer.toString(keyLength))));
            r.headers().add(new RecordHeader("dlq.original-value-size", utf8(Integer.toString(d.value == null ? 0 : d.value.length))));
        }
        r.headers().add(new RecordHeader("dlq.reason", utf8(d.reason.name())));
        r.headers().add(new RecordHeader("dlq.message", utf8(d.message)));
        r.headers().add(new RecordHeader("dlq.source.topic", utf8(d.sourceTopic)));
        r.headers().add(new RecordHeader("dlq.source.partition", utf8(Integer.toString(d.sourcePartition))));
        r.headers().add(new RecordHeader("dlq.source.offset", utf8(Long.toString(d.sourceOffset))));
        r.headers().add(new RecordHeader("dlq.at", utf8(Instant.now().toString())));
        return r;
    }

    private <T> KafkaSink<T> kafkaSink(String name, KafkaRecordSerializationSchema<T> serializer) {
        return KafkaSink.<T>builder()
                .setBootstrapServers(config.bootstrapServers())
                .setKafkaProducerConfig(config.kafkaProperties())
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(config.transactionalIdPrefix() + "-" + name)
                // the default (1 h) exceeds the broker's transaction.max.timeout.ms (15 min): the job would restart forever
                .setProperty("transaction.timeout.ms", Long.toString(config.transactionTimeout().toMillis()))
                .build();
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Parses each record in the source, so that its event time is known per partition; a record that
     * fails becomes a dead letter with its bytes and coordinates, never an exception.
     */
    static final class ParsingDeserializer implements KafkaRecordDeserializationSchema<ParsedRecord> {
        private final EventIngest ingest;
        private transient EventParser parser;

        ParsingDeserializer(EventIngest ingest) {
            this.ingest = ingest;
        }

        @Override
        public void open(org.apache.flink.api.common.serialization.DeserializationSchema.InitializationContext ctx) {
            parser = ingest.newParser();
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<ParsedRecord> out) {
            long written = r.timestampType() == TimestampType.NO_TIMESTAMP_TYPE || r.timestamp() < 0 ? RawRecord.NO_INGEST_TIME : r.timestamp();
            RawRecord raw = new RawRecord(r.key(), r.value(), r.topic(), r.partition(), r.offset(), written);
            out.collect(ParsedRecord.of(parser.parse(raw), written));
        }

        @Override
        public TypeInformation<ParsedRecord> getProducedType() {
            return EventIngest.type();
        }
    }

    public List<String> topics() {
        return List.of(config.eventsTopic(), config.alertsTopic(), config.segmentsTopic(), config.dlqTopic(), config.lateTopic(),
                config.patternEventsTopic());
    }
}
