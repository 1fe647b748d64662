package io.behaviorcep;

import io.behaviorcep.sink.PostgresSink;
import io.behaviorcep.sink.SqlMigrations;
import io.behaviorcep.sink.SuppressionListSource;
import io.behaviorcep.output.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.EventParser;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.output.AlertDecisionJson;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.privacy.ControlRecords;
import io.behaviorcep.output.ProfileRecord;
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
 * <p>The production connectors: events and privacy controls from Kafka; alerts, segment updates, dead letters and late
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
        alerts.sinkTo(kafkaSink("alerts", (a, ctx, ts) -> alertRecord(topic, a)))
                .uid("alerts-kafka").name("Alerts → Kafka " + config.alertsTopic());
        if (config.jdbc() != null) {
            alerts.sinkTo(PostgresSink.alerts(config.jdbc())).uid("alerts-postgres").name("Alerts → PostgreSQL");
        }
    }

    /** The messaging policy's decisions, exactly once like the alerts, keyed by user. */
    @Override
    public void alertDecisions(DataStream<io.behaviorcep.policy.AlertDecision> decisions) {
        String topic = config.alertDecisionsTopic();
        decisions.sinkTo(kafkaSink("alert-decisions", (d, ctx, ts) -> new ProducerRecord<>(topic, null, null, OutputJson.key(d.userId),
                        OutputJson.bytes(AlertDecisionJson.of(d)))))
                .uid("alert-decisions-kafka").name("Alert decisions → Kafka " + topic);
        if (config.jdbc() != null) {
            decisions.sinkTo(PostgresSink.alertDecisions(config.jdbc())).uid("alert-decisions-postgres").name("Alert decisions → PostgreSQL");
        }
    }

    @Override
    public void outcomes(DataStream<io.behaviorcep.experiment.Outcome> outcomes) {
        String topic = config.outcomesTopic();
        outcomes.sinkTo(kafkaSink("outcomes", (o, ctx, ts) -> outcomeRecord(topic, o)))
                .uid("outcomes-kafka").name("Outcomes → Kafka " + topic);
        if (config.jdbc() != null) {
            outcomes.sinkTo(PostgresSink.outcomes(config.jdbc())).uid("outcomes-postgres").name("Outcomes → PostgreSQL");
        }
    }

    /** An outcome keyed by its user. */
    public static ProducerRecord<byte[], byte[]> outcomeRecord(String topic, io.behaviorcep.experiment.Outcome o) {
        return new ProducerRecord<>(topic, null, null, OutputJson.key(o.userId()), OutputJson.outcomeValue(o));
    }

    @Override
    public void segmentUpdates(DataStream<SegmentUpdate> updates) {
        String topic = config.segmentsTopic();
        updates.sinkTo(kafkaSink("segments", (u, ctx, ts) -> segmentRecord(topic, u)))
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

    /**
     * The privacy control topic, which only the operator writes (the job's ACL is read-only). Read from
     * the committed offsets, else from the earliest: a control must not be skipped. One reader; its
     * watermarks are neutral ({@link ControlRecords#watermarks()}), so it never moves event time.
     */
    @Override
    public DataStream<RawRecord> controlRecords(StreamExecutionEnvironment env) {
        KafkaSourceBuilder<RawRecord> b = KafkaSource.<RawRecord>builder()
                .setBootstrapServers(config.bootstrapServers())
                .setTopics(config.controlTopic())
                .setGroupId(config.groupId())
                .setProperties(config.kafkaProperties())
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawDeserializer());
        if (bounded) b.setBounded(OffsetsInitializer.latest());
        return env.fromSource(b.build(), ControlRecords.<RawRecord>watermarks(), "Privacy controls (Kafka " + config.controlTopic() + ")")
                .setParallelism(1)
                .uid(BehaviorCepPipeline.UID_CONTROL_SOURCE);
    }

    /** A record with its bytes and coordinates, so a refused control reaches the dead-letter topic as it was sent. */
    static final class RawDeserializer implements KafkaRecordDeserializationSchema<RawRecord> {
        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<RawRecord> out) {
            out.collect(new RawRecord(r.key(), r.value(), r.topic(), r.partition(), r.offset()));
        }

        @Override
        public TypeInformation<RawRecord> getProducedType() {
            return TypeInformation.of(RawRecord.class);
        }
    }

    @Override
    public void deadLetters(DataStream<DeadLetter> deadLetters) {
        String topic = config.dlqTopic();
        deadLetters.sinkTo(kafkaSink("dlq", (d, ctx, ts) -> deadLetterRecord(topic, d))).uid("dlq-kafka").name("Dead letters → Kafka " + config.dlqTopic());
    }

    @Override
    public void lateEvents(DataStream<BehaviorEvent> late) {
        String topic = config.lateTopic();
        late.sinkTo(kafkaSink("late", (e, ctx, ts) -> lateEventRecord(topic, e)))
                .uid("late-kafka").name("Late events → Kafka " + config.lateTopic());
    }

    /** An alert keyed by its user. */
    public static ProducerRecord<byte[], byte[]> alertRecord(String topic, Alert a) {
        return new ProducerRecord<>(topic, null, null, OutputJson.key(a.userId), OutputJson.alertValue(a));
    }

    /** A segment update keyed by {@code user|segment} (the topic is compacted on it). */
    public static ProducerRecord<byte[], byte[]> segmentRecord(String topic, SegmentUpdate u) {
        return new ProducerRecord<>(topic, null, null, OutputJson.key(u.userId + "|" + u.segment), OutputJson.bytes(OutputJson.segment(u)));
    }

    /** A late event as Segment JSON, keyed by its user. */
    public static ProducerRecord<byte[], byte[]> lateEventRecord(String topic, BehaviorEvent e) {
        return new ProducerRecord<>(topic, null, null, OutputJson.key(e.userKey), OutputJson.lateEventValue(e));
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

    /** {@code dlq.message} is cut to this many characters: it may quote the input (a 64 KiB {@code type}). */
    public static final int DLQ_MAX_MESSAGE_CHARS = 1024;

    /**
     * The original bytes and key, untouched, so a fixed record can be re-published as is; why it was
     * refused and where it came from travel in headers (the Kafka Connect DLQ convention). Key, value
     * and headers together stay within {@link OutputJson#MAX_RECORD_BYTES}: a record that filled the
     * input's size limit (or a ~1 MiB key) cannot be re-published whole with headers added, the
     * producer (max.request.size) or broker would refuse it, the sink would fail, and the job would
     * restart on the same record forever. Such a record keeps what fits (a key is cut only as far as
     * the value needs, and not below half of the room; the value fills the rest) and says so ({@code dlq.truncated},
     * {@code dlq.original-key-size}, {@code dlq.original-value-size}).
     */
    public static ProducerRecord<byte[], byte[]> deadLetterRecord(String topic, DeadLetter d) {
        byte[] key = d.key;
        byte[] value = d.value == null ? new byte[0] : d.value;
        int keyLength = key == null ? 0 : key.length;
        String message = d.message == null || d.message.length() <= DLQ_MAX_MESSAGE_CHARS ? d.message
                : d.message.substring(0, DLQ_MAX_MESSAGE_CHARS - 1) + "…";
        List<RecordHeader> headers = new java.util.ArrayList<>(List.of(
                new RecordHeader("dlq.reason", utf8(d.reason.name())),
                new RecordHeader("dlq.message", OutputJson.key(message)),
                new RecordHeader("dlq.source.topic", utf8(d.sourceTopic)),
                new RecordHeader("dlq.source.partition", utf8(Integer.toString(d.sourcePartition))),
                new RecordHeader("dlq.source.offset", utf8(Long.toString(d.sourceOffset))),
                new RecordHeader("dlq.at", utf8(Instant.now().toString()))));
        boolean truncated = keyLength + value.length + headerBytes(headers) > OutputJson.MAX_RECORD_BYTES;
        if (truncated) {
            headers.addAll(0, List.of(
                    new RecordHeader("dlq.truncated", utf8("true")),
                    new RecordHeader("dlq.original-key-size", utf8(Integer.toString(keyLength))),
                    new RecordHeader("dlq.original-value-size", utf8(Integer.toString(value.length)))));
            int room = OutputJson.MAX_RECORD_BYTES - headerBytes(headers);
            int keyRoom = Math.max(room / 2, room - value.length); // the value keeps at least half
            if (keyLength > keyRoom) key = java.util.Arrays.copyOf(key, keyRoom);
            value = java.util.Arrays.copyOf(value, Math.min(value.length, room - (key == null ? 0 : key.length)));
        }
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, null, key, value);
        headers.forEach(r.headers()::add);
        return r;
    }

    private static int headerBytes(List<RecordHeader> headers) {
        int n = 0;
        for (RecordHeader h : headers) n += h.key().getBytes(StandardCharsets.UTF_8).length + (h.value() == null ? 0 : h.value().length);
        return n;
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
                config.patternEventsTopic(), config.controlTopic(), config.alertDecisionsTopic(), config.outcomesTopic());
    }
}
