package io.behaviorcep.cli;

import io.behaviorcep.privacy.ControlRecords;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Writes one privacy control to the control topic (docs/operations.md, "Erase a user"). Run it with
 * the operator's Kafka identity: the job's own may only read that topic.
 */
@Command(name = "control", mixinStandardHelpOptions = true,
        description = "Write a privacy control (erase, opt_out, opt_in) for a user id and/or anonymous ids to the control topic.")
public final class ControlCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "erase, opt_out or opt_in")
    String type;

    @Option(names = "--user", description = "the user id as the events carry it")
    String user;

    @Option(names = "--anonymous-id", description = "an anonymous id of the same person (repeat for more)")
    List<String> anonymousIds = List.of();

    @Option(names = "--request-id", description = "logged by the job with the control (default: a random id)")
    String requestId;

    @Option(names = "--bootstrap-servers", required = true)
    String bootstrapServers;

    @Option(names = "--topic", defaultValue = "behavior.control", description = "default: ${DEFAULT-VALUE}")
    String topic;

    @Option(names = "--kafka-property", description = "a Kafka client property, e.g. security.protocol=SASL_SSL (repeat for more)")
    Map<String, String> kafkaProperties = Map.of();

    @Override
    public Integer call() throws Exception {
        String request = requestId != null ? requestId : UUID.randomUUID().toString();
        byte[] record = ControlRecords.json(type, user, anonymousIds, request, Instant.now().toString());
        try {
            ControlRecords.parse(record, 0); // what the job would refuse is not written
        } catch (ControlRecords.InvalidControl e) {
            System.err.println("not a valid control: " + e.getMessage());
            return 2;
        }
        Properties p = new Properties();
        p.putAll(kafkaProperties);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            var meta = producer.send(new ProducerRecord<>(topic, null, record)).get(30, TimeUnit.SECONDS);
            System.out.println("written to " + meta.topic() + "/" + meta.partition() + "@" + meta.offset() + ": "
                    + new String(record, StandardCharsets.UTF_8));
        }
        return 0;
    }
}
