package io.behaviorcep.ops;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.cli.Main;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.ops.K8sManifests.Resource;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.metrics.prometheus.PrometheusPushGatewayReporterOptions;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.provider.ConfigProvider;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.StringReader;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every manifest under k8s/ parsed and held to the code it deploys: the FlinkDeployment against the
 * operator's CRD schema; image, jar path and entry class against the Dockerfile and the build; the
 * job's arguments and settings through {@link JobConfig} itself (unknown keys are refused there),
 * then built into the real job graph; Flink configuration keys against Flink's own ConfigOptions;
 * Kafka client properties against the Kafka client's; the topics, the Kafka user, the migration Job
 * and the Prometheus scrape against the job's settings.
 */
class ManifestTest {
    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");

    private static Resource deployment;
    private static JsonNode spec;
    private static JsonNode container;
    /** The job's settings as main() will see them: --config file from its ConfigMap, then the other arguments. */
    private static Map<String, String> settings;
    private static JobConfig config;
    private static Path mounts;

    @BeforeAll
    static void load(@TempDir Path tmp) throws Exception {
        mounts = tmp;
        deployment = K8sManifests.one("FlinkDeployment", "behavior-cep");
        spec = deployment.doc().path("spec");
        container = mainContainer(spec.at("/podTemplate/spec"));
        settings = jobSettings();
        config = JobConfig.of(settings);
    }

    // ---- the manifests as a whole -------------------------------------------------------------

    @Test
    void everyManifestParsesAndNamesItsKindAndNamespace() {
        List<Resource> all = K8sManifests.all();
        assertThat(all).extracting(Resource::kind).contains("FlinkDeployment", "ConfigMap", "KafkaTopic", "KafkaUser", "Job", "PodMonitor", "Namespace");
        for (Resource r : all) {
            assertThat(r.doc().path("apiVersion").asText()).as(r + " apiVersion").isNotEmpty();
            assertThat(r.name()).as(r + " metadata.name").matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
            if (!r.kind().equals("Namespace")) assertThat(r.doc().at("/metadata/namespace").asText()).as(r + " namespace").isNotEmpty();
        }
    }

    // ---- FlinkDeployment ----------------------------------------------------------------------

    @Test
    void flinkDeploymentIsValidAgainstTheOperatorsCrdSchema() throws Exception {
        JsonNode crd = K8sManifests.YAML.readTree(ManifestTest.class.getResourceAsStream("flinkdeployments.flink.apache.org-v1.yml"));
        CrdSchema schema = new CrdSchema(crd);
        assertThat(schema.validate(deployment.doc())).as("problems of " + deployment).isEmpty();

        // and the validator does catch what the API server would drop or refuse
        JsonNode broken = deployment.doc().deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) broken.path("spec").path("job")).put("upgradMode", "savepoint");
        ((com.fasterxml.jackson.databind.node.ObjectNode) broken.path("spec")).put("flinkVersion", "v2_9");
        assertThat(schema.validate(broken)).anyMatch(p -> p.contains("upgradMode: unknown field")).anyMatch(p -> p.contains("v2_9"));
    }

    @Test
    void flinkVersionAndImageMatchTheBuild() throws Exception {
        String flinkVersion = pomProperty("flink.version");
        String[] v = flinkVersion.split("\\.");
        assertThat(spec.path("flinkVersion").asText()).isEqualTo("v" + v[0] + "_" + v[1]);

        List<String> instructions = Files.readAllLines(K8sManifests.DIR.resolve("Dockerfile")).stream()
                .map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(instructions).hasSize(2);
        assertThat(instructions.get(0)).isEqualTo("FROM flink:" + flinkVersion + "-java17");
        // the cluster jar of the build (flink-jobs/pom.xml, execution cluster-jar), where jarURI expects it
        String clusterJar = "flink-jobs/target/" + shadeFinalName("cluster-jar") + ".jar";
        String jarPath = spec.at("/job/jarURI").asText().replaceFirst("^local://", "");
        assertThat(spec.at("/job/jarURI").asText()).startsWith("local:///opt/flink/usrlib/");
        assertThat(instructions.get(1)).isEqualTo("COPY " + clusterJar + " " + jarPath);
        assertThat(spec.path("image").asText()).isNotEmpty();
    }

    @Test
    void entryClassIsTheJobsMainClass() throws Exception {
        String entry = spec.at("/job/entryClass").asText();
        assertThat(entry).isEqualTo(BehaviorCepJob.class.getName());
        Method main = Class.forName(entry).getMethod("main", String[].class);
        assertThat(Modifier.isStatic(main.getModifiers())).isTrue();
        // the cluster jar's manifest names the same class
        assertThat(Files.readString(Repo.root().resolve("flink-jobs/pom.xml"))).contains("<mainClass>" + entry + "</mainClass>");
    }

    @Test
    void argumentsAndSettingsAreAllKnownToTheJobAndBuildTheJobGraph() throws Exception {
        // JobConfig.of refused nothing (unknown keys, bad durations, ...) in @BeforeAll; spell it out
        for (String key : settings.keySet()) {
            assertThat(JobConfig.KEYS.containsKey(key) || key.startsWith("kafka.properties.")).as("setting " + key).isTrue();
        }
        assertThat(config.bootstrapServers()).isNotBlank();
        assertThat(config.jdbc()).as("PostgreSQL output").isNotNull();
        assertThat(settings).doesNotContainKey("jdbc.password"); // literal passwords are for the local run only
        assertThat(settings).doesNotContainKey("parallelism");   // left to spec.job.parallelism

        // the pattern folder is the ConfigMap generated from patterns/, mounted where patterns.dir points
        JsonNode patternsVolume = volumeMountedAt(settings.get("patterns.dir"));
        assertThat(patternsVolume.at("/configMap/name").asText()).isEqualTo("behavior-cep-patterns");

        // what main() does in the job manager, on the files as mounted: load patterns, build the graph
        JobConfig mounted = config.with("patterns.dir", materialisePatternsConfigMap().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(spec.at("/job/parallelism").asInt());
        List<PatternDefinition> patterns = BehaviorCepJob.prepare(env, mounted, new KafkaIO(mounted));
        assertThat(patterns).isNotEmpty();
        Set<String> uids = new TreeSet<>();
        for (StreamNode n : env.getStreamGraph().getStreamNodes()) if (n.getTransformationUID() != null) uids.add(n.getTransformationUID());
        assertThat(uids).contains("events-source", "parse-validate", "dedup-late", "user-profile", "pattern-actions",
                "alerts-kafka", "segments-kafka", "dlq-kafka", "late-kafka", "alerts-postgres", "segments-postgres");
    }

    @Test
    void secretsComeFromTheEnvironmentOfEveryPod() {
        Map<String, JsonNode> env = containerEnv(container);
        // the PostgreSQL password: the variable jdbc.password-env names, from a Secret
        String passwordEnv = config.jdbc().passwordEnv();
        assertThat(env).containsKey(passwordEnv);
        assertThat(env.get(passwordEnv).at("/valueFrom/secretKeyRef/name").asText()).isNotEmpty();
        // the key of the user hashes in PostgreSQL: the PostgreSQL sinks refuse to run without it
        assertThat(env).containsKey(config.auditKeyEnv());
        assertThat(env.get(config.auditKeyEnv()).at("/valueFrom/secretKeyRef/name").asText()).isNotEmpty();
        // every ${env:NAME} a Kafka property refers to is defined, from a Secret
        Set<String> referenced = new HashSet<>();
        settings.values().forEach(v -> {
            Matcher m = ENV_REFERENCE.matcher(v);
            while (m.find()) referenced.add(m.group(1));
        });
        assertThat(referenced).isNotEmpty();
        for (String name : referenced) {
            assertThat(env).as("env of flink-main-container").containsKey(name);
            assertThat(env.get(name).at("/valueFrom/secretKeyRef/name").asText()).as(name + " from a Secret").isNotEmpty();
        }
        // no secret in clear text in any manifest
        for (Resource r : K8sManifests.all()) {
            assertThat(r.doc().toString().toLowerCase()).as(r.toString()).doesNotContain("password=").doesNotContain("scramloginmodule required");
        }
    }

    @Test
    void kafkaPropertiesAreKafkaClientSettings() throws Exception {
        Properties kafka = config.kafkaProperties();
        assertThat(kafka).isNotEmpty();
        Set<String> known = new HashSet<>(ConsumerConfig.configNames());
        known.addAll(ProducerConfig.configNames());
        known.addAll(AdminClientConfig.configNames());
        for (String k : kafka.stringPropertyNames()) {
            if (k.startsWith("config.providers.")) continue;
            assertThat(known).as("kafka.properties." + k + " is a Kafka client setting").contains(k);
        }
        for (String alias : kafka.getProperty("config.providers", "").split(",")) {
            if (alias.isBlank()) continue;
            String cls = kafka.getProperty("config.providers." + alias.trim() + ".class");
            assertThat(cls).as("class of config provider " + alias).isNotNull();
            assertThat(ConfigProvider.class.isAssignableFrom(Class.forName(cls))).isTrue();
        }
        // the client itself accepts them (types, enums like security.protocol, the config providers)
        Map<String, Object> consumer = new HashMap<>();
        kafka.forEach((k, v) -> consumer.put((String) k, v));
        consumer.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        consumer.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        consumer.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        new ConsumerConfig(consumer);
        // the truststore is a file of a mounted volume
        String truststore = kafka.getProperty("ssl.truststore.location");
        if (truststore != null) assertThat(volumeMountedAt(Path.of(truststore).getParent().toString()).has("secret")).isTrue();
    }

    @Test
    void flinkConfigurationKeysAreFlinksOwnAndTheirValuesParse() throws Exception {
        Map<String, ConfigOption<?>> options = FlinkOptions.byKey("flink-");
        // sanity: the scan found the classes the keys below come from
        assertThat(options).containsKeys("execution.checkpointing.dir", "state.backend.type", "restart-strategy.type", "high-availability.type",
                "state.backend.rocksdb.metrics.estimate-num-keys");
        Map<String, ConfigOption<?>> reporterOptions = new HashMap<>(FlinkOptions.ofClass(MetricOptions.class));
        // the Prometheus reporters' options (filterLabelValueCharacters is shared with the push gateway's) ...
        reporterOptions.putAll(FlinkOptions.ofClass(PrometheusPushGatewayReporterOptions.class));
        // ... and the port, which the reporter's factory reads by a name of its own
        Field argPort = PrometheusReporterFactory.class.getDeclaredField("ARG_PORT");
        argPort.setAccessible(true);
        String portKey = (String) argPort.get(null);
        reporterOptions.put(portKey, org.apache.flink.configuration.ConfigOptions.key(portKey).stringType().noDefaultValue());
        Map<String, String> flinkConf = new TreeMap<>();
        spec.path("flinkConfiguration").fields().forEachRemaining(e -> flinkConf.put(e.getKey(), e.getValue().asText()));
        Configuration conf = Configuration.fromMap(flinkConf);
        Pattern reporterKey = Pattern.compile("metrics\\.reporter\\.([^.]+)\\.(.+)");

        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : flinkConf.entrySet()) {
            String key = e.getKey();
            Matcher reporter = reporterKey.matcher(key);
            ConfigOption<?> option;
            Configuration scope = conf;
            if (reporter.matches()) {
                // metrics.reporter.<name>.<option>: Flink hands the reporter its options without the prefix
                option = reporterOptions.get(reporter.group(2));
                scope = Configuration.fromMap(Map.of(reporter.group(2), e.getValue()));
            } else if (key.startsWith("kubernetes.operator.")) {
                if (!OPERATOR_KEYS.contains(key)) problems.add(key + ": not an operator setting this test knows (see OPERATOR_KEYS)");
                continue;
            } else {
                option = options.get(key);
            }
            if (option == null) {
                problems.add(key + ": not a Flink configuration key");
                continue;
            }
            try {
                scope.get(option);
            } catch (RuntimeException ex) {
                problems.add(key + ": " + e.getValue() + ": " + ex.getMessage());
            }
        }
        assertThat(problems).isEmpty();

        // what the deployment relies on
        assertThat(flinkConf).containsEntry("state.backend.type", "rocksdb")
                .containsEntry("execution.checkpointing.incremental", "true")
                .containsEntry("high-availability.type", "kubernetes")
                .containsKeys("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir", "high-availability.storageDir", "restart-strategy.type");
        assertThat(spec.at("/job/upgradeMode").asText()).isEqualTo("savepoint");
        assertThat(flinkConf.get("metrics.reporter.prom." + portKey)).matches("\\d+(-\\d+)?");
        Class<?> factory = Class.forName(flinkConf.get("metrics.reporter.prom.factory.class"));
        assertThat(MetricReporterFactory.class.isAssignableFrom(factory)).isTrue();

        // S3 for checkpoints, savepoints and HA: the S3 plugin of this Flink version is enabled
        String flinkVersion = pomProperty("flink.version");
        for (String dir : List.of("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir", "high-availability.storageDir")) {
            assertThat(flinkConf.get(dir)).startsWith("s3://");
        }
        assertThat(containerEnv(container).get("ENABLE_BUILT_IN_PLUGINS").path("value").asText()).contains("flink-s3-fs-presto-" + flinkVersion + ".jar");
    }

    /** Operator settings a FlinkDeployment may override; checked by hand against operator 1.13's KubernetesOperatorConfigOptions. */
    private static final Set<String> OPERATOR_KEYS = Set.of(
            "kubernetes.operator.periodic.savepoint.interval",
            "kubernetes.operator.savepoint.history.max.count",
            "kubernetes.operator.savepoint.history.max.age",
            "kubernetes.operator.job.upgrade.last-state-fallback.enabled");

    @Test
    void resourcesAndParallelismFitTogether() {
        int parallelism = spec.at("/job/parallelism").asInt();
        int slots = Integer.parseInt(spec.at("/flinkConfiguration/taskmanager.numberOfTaskSlots").asText());
        assertThat(parallelism).isPositive();
        assertThat(slots).isPositive();
        assertThat(spec.at("/taskManager/resource/memory").asText()).isNotEmpty();
        assertThat(spec.at("/jobManager/resource/memory").asText()).isNotEmpty();
        // the events topic has a partition for every source subtask
        JsonNode events = topic(config.eventsTopic());
        assertThat(events.at("/spec/partitions").asInt()).isGreaterThanOrEqualTo(parallelism);
    }

    // ---- pattern ConfigMap --------------------------------------------------------------------

    @Test
    void patternConfigMapIsGeneratedFromPatternsByTheDocumentedCommand() throws Exception {
        String ops = Files.readString(Repo.root().resolve("docs/operations.md"));
        assertThat(ops).contains("kubectl create configmap behavior-cep-patterns --from-file=patterns/");
        // what kubectl makes of the folder: one key per file; keys must be valid, the whole under 1 MiB
        long bytes = 0;
        try (Stream<Path> files = Files.list(Repo.patterns())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(f.getFileName().toString()).matches("[-._a-zA-Z0-9]+");
                bytes += Files.size(f);
            }
        }
        assertThat(bytes).isLessThan(1024 * 1024);
    }

    // ---- Kafka topics and user ----------------------------------------------------------------

    @Test
    void topicsAreTheJobsTopicsWithCompactionForSegments() {
        List<Resource> topics = K8sManifests.ofKind("KafkaTopic");
        Set<String> names = new TreeSet<>();
        for (Resource t : topics) {
            JsonNode s = t.doc().path("spec");
            names.add(s.path("topicName").asText());
            assertThat(t.doc().at("/apiVersion").asText()).startsWith("kafka.strimzi.io/");
            assertThat(t.doc().at("/metadata/labels/strimzi.io~1cluster").asText()).as(t + " cluster label").isEqualTo("behavior");
            assertThat(s.path("partitions").isInt() && s.path("replicas").isInt()).as(t + " partitions, replicas").isTrue();
            assertThat(s.at("/config/min.insync.replicas").asInt()).isLessThan(s.path("replicas").asInt());
            boolean compacted = s.at("/config/cleanup.policy").asText("delete").contains("compact");
            assertThat(compacted).as(t + " compacted").isEqualTo(s.path("topicName").asText().equals(config.segmentsTopic()));
        }
        assertThat(names).containsExactlyInAnyOrder(config.eventsTopic(), config.alertsTopic(), config.segmentsTopic(), config.dlqTopic(), config.lateTopic(),
                config.patternEventsTopic(), config.controlTopic(), config.alertDecisionsTopic(), config.outcomesTopic());
        assertThat(new TreeSet<>(new KafkaIO(config).topics())).isEqualTo(names);
        // the bootstrap address is the Strimzi cluster's
        assertThat(config.bootstrapServers()).startsWith("behavior-kafka-bootstrap.");
    }

    @Test
    void kafkaUserMayDoWhatTheJobDoes() {
        JsonNode user = K8sManifests.one("KafkaUser", "behavior-cep").doc().path("spec");
        assertThat(user.at("/authentication/type").asText()).isEqualTo(config.kafkaProperties().getProperty("sasl.mechanism").toLowerCase());
        Map<String, Set<String>> acls = new HashMap<>();
        for (JsonNode acl : user.at("/authorization/acls")) {
            String resource = acl.at("/resource/type").asText() + ":" + acl.at("/resource/name").asText("") + ":" + acl.at("/resource/patternType").asText("");
            acl.path("operations").forEach(op -> acls.computeIfAbsent(resource, k -> new HashSet<>()).add(op.asText()));
        }
        assertThat(acls.get("topic:" + config.eventsTopic() + ":literal")).contains("Read");
        assertThat(acls.get("group:" + config.groupId() + ":literal")).contains("Read");
        for (String out : List.of(config.alertsTopic(), config.segmentsTopic(), config.dlqTopic(), config.lateTopic(), config.patternEventsTopic())) {
            assertThat(acls.get("topic:" + out + ":literal")).as(out).contains("Write");
        }
        assertThat(acls.get("transactionalId:" + config.transactionalIdPrefix() + ":prefix")).contains("Write", "Describe");
        // the privacy controls: only the operator writes them, the job only reads
        assertThat(acls.get("topic:" + config.controlTopic() + ":literal")).containsExactlyInAnyOrder("Describe", "Read");
        // Strimzi's secret of the user holds sasl.jaas.config: the key the pods read
        assertThat(containerEnv(container).values()).anyMatch(e -> e.at("/valueFrom/secretKeyRef/key").asText().equals("sasl.jaas.config"));
    }

    // ---- migrations ---------------------------------------------------------------------------

    @Test
    void migrationJobRunsTheMigrateCommandAgainstTheJobsDatabase() {
        JsonNode job = K8sManifests.one("Job", "behavior-cep-migrate").doc();
        JsonNode c = job.at("/spec/template/spec/containers/0");
        assertThat(c.path("image").asText()).isEqualTo(spec.path("image").asText());
        List<String> command = new ArrayList<>();
        c.path("command").forEach(a -> command.add(a.asText()));
        assertThat(command.subList(0, 2)).containsExactly("java", "-cp");
        assertThat(command.get(2).split(":")).contains(spec.at("/job/jarURI").asText().replaceFirst("^local://", ""), "/opt/flink/lib/*");
        assertThat(command.get(3)).isEqualTo(Main.class.getName());

        // picocli parses the rest exactly as `java -jar behavior-cep-standalone.jar migrate ...` would
        CommandLine.ParseResult parsed = new CommandLine(new Main()).parseArgs(command.subList(4, command.size()).toArray(new String[0]));
        CommandLine.ParseResult migrate = parsed.subcommand();
        assertThat(migrate.commandSpec().name()).isEqualTo("migrate");
        assertThat((String) migrate.matchedOptionValue("--jdbc-url", null)).isEqualTo(config.jdbc().url());
        assertThat((String) migrate.matchedOptionValue("--user", null)).isEqualTo(config.jdbc().user());
        String passwordEnv = migrate.matchedOptionValue("--password-env", null);
        assertThat(passwordEnv).isEqualTo(config.jdbc().passwordEnv());

        // the same Secret as the job's
        JsonNode jobEnv = containerEnv(c).get(passwordEnv);
        assertThat(jobEnv).isNotNull();
        assertThat(jobEnv.at("/valueFrom/secretKeyRef")).isEqualTo(containerEnv(container).get(passwordEnv).at("/valueFrom/secretKeyRef"));
        assertThat(job.at("/spec/template/spec/restartPolicy").asText()).isIn("Never", "OnFailure");
    }

    // ---- metrics scraping ---------------------------------------------------------------------

    @Test
    void prometheusScrapesTheReporterPort() {
        JsonNode monitor = K8sManifests.one("PodMonitor", "behavior-cep").doc().path("spec");
        String portName = monitor.at("/podMetricsEndpoints/0/port").asText();
        JsonNode port = null;
        for (JsonNode p : container.path("ports")) if (p.path("name").asText().equals(portName)) port = p;
        assertThat(port).as("container port " + portName).isNotNull();
        assertThat(port.path("containerPort").asText()).isEqualTo(spec.at("/flinkConfiguration/metrics.reporter.prom.port").asText());
        monitor.at("/selector/matchLabels").fields().forEachRemaining(l ->
                assertThat(spec.at("/podTemplate/metadata/labels").path(l.getKey()).asText()).isEqualTo(l.getValue().asText()));
        assertThat(monitor.at("/selector/matchLabels").size()).isPositive();
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** --key value arguments, with --config FILE read from the ConfigMap mounted at FILE's folder (arguments win). */
    private static Map<String, String> jobSettings() throws Exception {
        List<String> args = new ArrayList<>();
        spec.at("/job/args").forEach(a -> args.add(a.asText()));
        assertThat(args).isNotEmpty();
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, String> fromFile = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            assertThat(a).as("argument " + i).startsWith("--");
            assertThat(i + 1).as(a + " needs a value").isLessThan(args.size());
            String value = args.get(++i);
            if (a.equals("--config")) {
                Path file = Path.of(value);
                JsonNode volume = volumeMountedAt(file.getParent().toString());
                String configMap = volume.at("/configMap/name").asText();
                String content = K8sManifests.one("ConfigMap", configMap).doc().at("/data").path(file.getFileName().toString()).asText(null);
                assertThat(content).as("key " + file.getFileName() + " of ConfigMap " + configMap).isNotNull();
                Properties p = new Properties();
                p.load(new StringReader(content));
                p.stringPropertyNames().forEach(n -> fromFile.put(n, p.getProperty(n)));
            } else {
                out.put(a.substring(2), value);
            }
        }
        fromFile.putAll(out);
        // JobConfig.fromArgs reads the file itself: run it for real on a copy, to parse exactly as main() does
        Path copy = mounts.resolve("job.properties");
        Properties p = new Properties();
        p.putAll(fromFile);
        try (var w = Files.newBufferedWriter(copy)) {
            p.store(w, null);
        }
        JobConfig.fromArgs(new String[] {"--config", copy.toString()});
        return fromFile;
    }

    /** The patterns/ folder as `kubectl create configmap --from-file=patterns/` and its mount make it. */
    private static Path materialisePatternsConfigMap() throws Exception {
        Path dir = Files.createDirectories(mounts.resolve("patterns"));
        try (Stream<Path> files = Files.list(Repo.patterns())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        PatternLoader.Result loaded = PatternLoader.load(dir);
        assertThat(loaded.problems()).isEmpty();
        return dir;
    }

    private static JsonNode mainContainer(JsonNode podSpec) {
        for (JsonNode c : podSpec.path("containers")) if (c.path("name").asText().equals("flink-main-container")) return c;
        throw new AssertionError("the pod template has no flink-main-container");
    }

    private static Map<String, JsonNode> containerEnv(JsonNode c) {
        Map<String, JsonNode> env = new HashMap<>();
        c.path("env").forEach(e -> env.put(e.path("name").asText(), e));
        return env;
    }

    /** The volume (of the pod template) mounted at exactly {@code path} in the main container. */
    private static JsonNode volumeMountedAt(String path) {
        String volume = null;
        for (JsonNode m : container.path("volumeMounts")) if (m.path("mountPath").asText().equals(path)) volume = m.path("name").asText();
        assertThat(volume).as("a volume mounted at " + path).isNotNull();
        for (JsonNode v : spec.at("/podTemplate/spec/volumes")) if (v.path("name").asText().equals(volume)) return v;
        throw new AssertionError("volume " + volume + " is mounted but not defined");
    }

    private static JsonNode topic(String name) {
        return K8sManifests.ofKind("KafkaTopic").stream().map(Resource::doc)
                .filter(t -> t.at("/spec/topicName").asText().equals(name)).findFirst().orElseThrow();
    }

    private static String pomProperty(String name) throws Exception {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(Files.readString(Repo.root().resolve("pom.xml")));
        assertThat(m.find()).as("property " + name + " in pom.xml").isTrue();
        return m.group(1).trim();
    }

    private static String shadeFinalName(String executionId) throws Exception {
        String pom = Files.readString(Repo.root().resolve("flink-jobs/pom.xml"));
        int at = pom.indexOf("<id>" + executionId + "</id>");
        assertThat(at).as("shade execution " + executionId).isPositive();
        Matcher m = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(pom);
        assertThat(m.find(at)).isTrue();
        return m.group(1).trim();
    }
}
