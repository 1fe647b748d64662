package io.behaviorcep.deliver;

import io.behaviorcep.cli.DeliverCommand;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * k8s/deliver-deployment.yaml and k8s/deliver/kafka.yaml held to the code: the entry class and its
 * arguments parse, the sample destinations.yaml is valid and builds the job graph with the stable
 * uids, every environment variable it names is provided to the pods, and the topics and ACLs are the
 * job's.
 */
class DeliverManifestTest {
    private static final YAMLMapper YAML = new YAMLMapper();

    private static List<JsonNode> docs(String file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(Repo.root().resolve(file).toFile())) {
            while (it.hasNext()) out.add(it.next());
        }
        return out;
    }

    private static JsonNode one(List<JsonNode> docs, String kind) {
        return docs.stream().filter(d -> d.path("kind").asText().equals(kind)).findFirst().orElseThrow();
    }

    @Test
    void theDeploymentRunsTheDeliverCommandOnTheSampleDestinationsAndBuildsTheGraph(@TempDir Path tmp) throws Exception {
        List<JsonNode> docs = docs("k8s/deliver-deployment.yaml");
        JsonNode deployment = one(docs, "FlinkDeployment");
        JsonNode configMap = one(docs, "ConfigMap");
        JsonNode job = deployment.at("/spec/job");
        assertThat(job.path("entryClass").asText()).isEqualTo(DeliverCommand.class.getName());
        assertThat(Class.forName(job.path("entryClass").asText()).getMethod("main", String[].class)).isNotNull();
        assertThat(deployment.at("/spec/job/jarURI").asText())
                .isEqualTo(docs("k8s/flink-deployment.yaml").get(0).at("/spec/job/jarURI").asText());
        List<String> args = new ArrayList<>();
        job.path("args").forEach(a -> args.add(a.asText()));
        assertThat(args.get(0)).isEqualTo("deliver");

        // the arguments as the deliver command reads them, with the mounted files materialised
        DeliverCommand command = new DeliverCommand();
        new CommandLine(command).parseArgs(args.subList(1, args.size()).toArray(new String[0]));
        JsonNode container = deployment.at("/spec/podTemplate/spec/containers/0");
        String destinationsPath = args.get(args.indexOf("--destinations") + 1);
        assertThat(mountedConfigMap(deployment, container, Path.of(destinationsPath).getParent().toString()))
                .isEqualTo(configMap.at("/metadata/name").asText());
        byte[] destinationsYaml = configMap.at("/data").path(Path.of(destinationsPath).getFileName().toString()).asText().getBytes(StandardCharsets.UTF_8);
        DestinationsFile.Result parsed = DestinationsFile.parse(destinationsPath, destinationsYaml);
        assertThat(parsed.problems()).isEmpty();

        // job.properties from the main job's ConfigMap, as --config reads it
        String configPath = args.get(args.indexOf("--config") + 1);
        assertThat(mountedConfigMap(deployment, container, Path.of(configPath).getParent().toString())).isEqualTo("behavior-cep-config");
        Properties p = new Properties();
        JsonNode jobConfigMap = docs("k8s/job-config.yaml").get(0);
        p.load(new java.io.StringReader(jobConfigMap.at("/data").path(Path.of(configPath).getFileName().toString()).asText()));
        Map<String, String> settings = new TreeMap<>();
        p.forEach((k, v) -> settings.put(k.toString(), v.toString()));
        JobConfig config = JobConfig.of(settings);

        Path file = Files.write(tmp.resolve("destinations.yaml"), destinationsYaml);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        List<Destination> destinations = DeliverJob.prepare(env, config, new DeliverJob.Settings(file, DeliverJob.DEFAULT_DELIVERIES_TOPIC,
                DeliverJob.DEFAULT_DLQ_TOPIC));
        StreamGraph graph = env.getStreamGraph();
        Set<String> uids = graph.getStreamNodes().stream().map(StreamNode::getTransformationUID).collect(Collectors.toSet());
        for (Destination d : destinations) assertThat(uids).contains("deliver-" + d.name(), "deliver-source-" + d.name());
        assertThat(uids).contains("deliveries-kafka", "delivery-dlq-kafka", "deliveries-postgres");
        assertThat(graph.getStreamNodes()).allSatisfy(n -> assertThat(n.getTransformationUID()).as(n.getOperatorName()).isNotNull());

        // every environment variable destinations.yaml names reaches the pods (from the Secret via envFrom, or env)
        Set<String> provided = new HashSet<>();
        container.path("env").forEach(e -> provided.add(e.path("name").asText()));
        assertThat(container.at("/envFrom/0/secretRef/name").asText()).isEqualTo("behavior-cep-deliver-destinations");
        Set<String> named = new HashSet<>();
        for (Destination d : destinations) {
            named.add(d.signingSecretEnv());
            d.headers().values().forEach(v -> named.addAll(HeaderTemplates.references(v)));
        }
        String comment = Files.readString(Repo.root().resolve("k8s/deliver-deployment.yaml"));
        for (String name : named) {
            assertThat(provided.contains(name) || comment.contains("--from-literal=" + name + "="))
                    .as(name + " in the documented Secret command or env").isTrue();
        }
        assertThat(provided).contains(config.jdbc().passwordEnv());
    }

    @Test
    void topicsAndAclsAreTheDeliverJobs() throws Exception {
        List<JsonNode> docs = docs("k8s/deliver/kafka.yaml");
        Set<String> topics = docs.stream().filter(d -> d.path("kind").asText().equals("KafkaTopic"))
                .map(d -> d.at("/spec/topicName").asText()).collect(Collectors.toSet());
        assertThat(topics).containsExactlyInAnyOrder(DeliverJob.DEFAULT_DELIVERIES_TOPIC, DeliverJob.DEFAULT_DLQ_TOPIC);
        JsonNode user = one(docs, "KafkaUser");
        Map<String, String> acls = new TreeMap<>();
        user.at("/spec/authorization/acls").forEach(a -> acls.put(a.at("/resource/type").asText() + ":" + a.at("/resource/name").asText(""),
                a.path("operations").toString()));
        assertThat(acls).containsEntry("topic:behavior.alerts", "[\"Describe\",\"Read\"]")
                .containsEntry("group:behavior-cep-deliver-", "[\"Describe\",\"Read\"]")
                .containsEntry("topic:behavior.deliveries", "[\"Describe\",\"Write\"]")
                .containsEntry("topic:behavior.delivery-dlq", "[\"Describe\",\"Write\"]")
                .containsEntry("transactionalId:behavior-cep-deliver-", "[\"Describe\",\"Write\"]");
    }

    private static String mountedConfigMap(JsonNode deployment, JsonNode container, String path) {
        String volume = null;
        for (JsonNode m : container.path("volumeMounts")) if (m.path("mountPath").asText().equals(path)) volume = m.path("name").asText();
        assertThat(volume).as("a volume at " + path).isNotNull();
        for (JsonNode v : deployment.at("/spec/podTemplate/spec/volumes")) {
            if (v.path("name").asText().equals(volume)) return v.at("/configMap/name").asText();
        }
        throw new AssertionError("volume " + volume + " not defined");
    }
}
