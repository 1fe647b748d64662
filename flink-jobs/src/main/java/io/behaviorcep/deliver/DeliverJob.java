package io.behaviorcep.deliver;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.config.JdbcSettings;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code deliver} job: alerts from the alerts topic ({@code read_committed}) POSTed to the
 * destinations of {@code destinations.yaml}; every outcome to the deliveries topic and table, every
 * alert not delivered to the delivery DLQ.
 *
 * <p>Each destination has a pipeline of its own: its own Kafka source (uid
 * {@code deliver-source-<name>}, consumer group {@code <group>-deliver-<name>}), routing filter and
 * async operator (uid {@code deliver-<name>}, with the destination's capacity and timeout). A slow or
 * failing receiver fills only its own operator's capacity; the backpressure reaches only its own
 * source, and the other destinations read on. (One shared source split per destination would not do
 * that: a source blocks on its slowest output.) The price is reading the alerts topic once per
 * destination, which is small beside the events topic.
 *
 * <p>Guarantees: towards receivers at least once (alerts in flight are in the async operators'
 * checkpoints and are sent again after a restore; the {@code Idempotency-Key} makes that effectively
 * once); the deliveries and DLQ topics exactly once (transactional, visible to {@code read_committed}
 * consumers at each checkpoint, as in the main job); the table at least once with idempotent upserts.
 */
public final class DeliverJob {
    private static final Logger LOG = LoggerFactory.getLogger(DeliverJob.class);
    public static final String JOB_NAME = "behavior-cep-deliver";
    public static final String DEFAULT_DELIVERIES_TOPIC = "behavior.deliveries";
    public static final String DEFAULT_DLQ_TOPIC = "behavior.delivery-dlq";

    /** What the job needs besides the main job's settings. */
    public record Settings(Path destinationsFile, String deliveriesTopic, String dlqTopic) {}

    private DeliverJob() {}

    /** Reads destinations.yaml (refusing to start on any problem) and builds the graph. */
    public static List<Destination> prepare(StreamExecutionEnvironment env, JobConfig config, Settings settings) {
        if (config.bootstrapServers().isBlank()) throw new IllegalArgumentException("kafka.bootstrap-servers is required");
        List<Destination> destinations = DestinationsFile.read(settings.destinationsFile()).orThrow();
        destinations.forEach(d -> LOG.info("destination {}: {} (types {}, severities {}, timeout {}, rate {}/s, in flight {}, retry {})",
                d.name(), d.url(), d.alertTypes().isEmpty() ? "all" : d.alertTypes(), d.severities().isEmpty() ? "all" : d.severities(),
                d.timeout(), d.ratePerSecond() == 0 ? "unlimited" : d.ratePerSecond(), d.capacity(), d.retry()));
        if (config.parallelism() != null) env.setParallelism(config.parallelism());
        BehaviorCepPipeline.configureCheckpointing(env, config);
        build(env, config, settings, destinations);
        return destinations;
    }

    public static void build(StreamExecutionEnvironment env, JobConfig config, Settings settings, List<Destination> destinations) {
        DataStream<DeliveryOutcome> outcomes = null;
        for (int i = 0; i < destinations.size(); i++) {
            Destination d = destinations.get(i);
            boolean handlesInvalid = i == 0; // a record that is no alert is dead-lettered once, by the first destination
            DataStream<AlertToDeliver> alerts = env.fromSource(alertsSource(config, d), WatermarkStrategy.noWatermarks(),
                            "Alerts for " + d.name() + " (Kafka " + config.alertsTopic() + ")")
                    .uid("deliver-source-" + d.name());
            DataStream<AlertToDeliver> routed = alerts
                    .filter(a -> a.valid() ? d.accepts(a.alertType(), a.severity()) : handlesInvalid)
                    .name("Route → " + d.name()).uid("deliver-route-" + d.name());
            DataStream<DeliveryOutcome> delivered = AsyncDataStream.unorderedWait(routed, new WebhookDeliveryFunction(d),
                            d.worstCaseDecisionTime(env.getParallelism()).plusSeconds(30).toMillis(), TimeUnit.MILLISECONDS, d.capacity())
                    .name("Deliver → " + d.name()).uid(d.operatorUid());
            outcomes = outcomes == null ? delivered : outcomes.union(delivered);
        }
        String deliveriesTopic = settings.deliveriesTopic();
        outcomes.sinkTo(kafkaSink(config, "deliveries", (o, ctx, ts) -> DeliveryRecords.deliveryRecord(deliveriesTopic, o)))
                .name("Deliveries → Kafka " + deliveriesTopic).uid("deliveries-kafka");
        String dlqTopic = settings.dlqTopic();
        outcomes.filter(o -> !o.delivered()).name("Not delivered").uid("delivery-dlq-filter")
                .sinkTo(kafkaSink(config, "delivery-dlq", (o, ctx, ts) -> DeliveryRecords.deadLetterRecord(dlqTopic, o)))
                .name("Not delivered → Kafka " + dlqTopic).uid("delivery-dlq-kafka");
        JdbcSettings jdbc = config.jdbc();
        if (jdbc != null) {
            outcomes.sinkTo(new DeliveriesTableSink(jdbc)).name("Deliveries → PostgreSQL").uid("deliveries-postgres");
        }
    }

    static KafkaSource<AlertToDeliver> alertsSource(JobConfig config, Destination d) {
        return KafkaSource.<AlertToDeliver>builder()
                .setBootstrapServers(config.bootstrapServers())
                .setTopics(config.alertsTopic())
                .setGroupId(config.groupId() + "-deliver-" + d.name())
                .setProperties(config.kafkaProperties())
                // alerts of the main job become visible when its checkpoint commits; uncommitted ones may yet be aborted
                .setProperty("isolation.level", "read_committed")
                .setStartingOffsets(switch (config.startingOffsets()) {
                    case "earliest" -> OffsetsInitializer.earliest();
                    case "latest" -> OffsetsInitializer.latest();
                    default -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
                })
                .setDeserializer(new AlertDeserializer())
                .build();
    }

    private static <T> KafkaSink<T> kafkaSink(JobConfig config, String name, KafkaRecordSerializationSchema<T> serializer) {
        return KafkaSink.<T>builder()
                .setBootstrapServers(config.bootstrapServers())
                .setKafkaProducerConfig(config.kafkaProperties())
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                // distinct from the main job's prefixes, which may share the setting
                .setTransactionalIdPrefix(config.transactionalIdPrefix() + "-deliver-" + name)
                .setProperty("transaction.timeout.ms", Long.toString(config.transactionTimeout().toMillis()))
                .build();
    }

    static final class AlertDeserializer implements KafkaRecordDeserializationSchema<AlertToDeliver> {
        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<AlertToDeliver> out) {
            out.collect(AlertToDeliver.of(r.key(), r.value(), r.topic(), r.partition(), r.offset()));
        }

        @Override
        public TypeInformation<AlertToDeliver> getProducedType() {
            return TypeInformation.of(AlertToDeliver.class);
        }
    }
}
