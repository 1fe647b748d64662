package io.behaviorcep.ops;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.local.EmbeddedKafka;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.local.TrafficGenerator.GeneratedRecord;
import io.behaviorcep.local.TrafficGenerator.Kind;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job's metrics as an operator sees them, on a live job: the real pipeline with the shipped
 * patterns on the embedded Kafka broker, in a MiniCluster with its REST API (what the web UI shows)
 * and Flink's Prometheus reporter. Synthetic shoppers are sent while it runs; then the web UI's
 * numbers must equal what was sent (events in, dead letters by reason, duplicates, late events,
 * profiles held) and what the job wrote to Kafka (alerts per pattern, segment members), and the
 * Prometheus endpoint must export every metric the Grafana dashboard queries.
 */
class MetricsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String PROMETHEUS_PORTS = "9250-9299";
    private static final int RECORDS = 12_000;
    private static final Duration WAIT = Duration.ofSeconds(90);

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(() -> {
        Configuration conf = new Configuration();
        conf.set(RestOptions.BIND_PORT, "0");
        // the web UI's metric store fetches every 10 s by default
        conf.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofMillis(300));
        // as in k8s/flink-deployment.yaml
        conf.setString("metrics.reporter.prom.factory.class", PrometheusReporterFactory.class.getName());
        conf.setString("metrics.reporter.prom.port", PROMETHEUS_PORTS);
        conf.setString("metrics.reporter.prom.filterLabelValueCharacters", "false");
        conf.setString("state.backend.type", "rocksdb");
        conf.setString("state.backend.rocksdb.metrics.estimate-num-keys", "true");
        return new MiniClusterResourceConfiguration.Builder().setConfiguration(conf)
                .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build();
    });

    private static EmbeddedKafka kafka;
    private static JobConfig config;
    private static JobClient job;
    private static String rest;
    /** What was sent, by kind; and the events' users and times per partition. */
    private static final Map<Kind, Integer> sent = new HashMap<>();
    private static final List<long[]> eventTimes = new ArrayList<>(); // {partition, timestamp}
    private static final List<String> eventUsers = new ArrayList<>();

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.start();
        config = JobConfig.of(Map.of(
                "kafka.bootstrap-servers", kafka.bootstrapServers(),
                "kafka.starting-offsets", "earliest",
                "patterns.dir", Repo.patterns().toString(),
                "checkpoint.interval", "1s",
                // when the traffic stops, event time stops: every number below settles. And no partition
                // is ever taken for idle (on a busy machine a paced producer can stall for seconds):
                // its next events would fall behind the other partition's watermark and count as late
                "events.idle-advance", "false",
                "events.idle-timeout", "10m",
                // alertsEmitted counts the alerts past their pattern's cap, before the messaging policy:
                // without one, they are what the alerts topic holds
                "policy.file", "none"));
        createTopic(config.eventsTopic(), 2, false);
        createTopic(config.alertsTopic(), 1, false);
        createTopic(config.segmentsTopic(), 1, true);
        createTopic(config.dlqTopic(), 1, false);
        createTopic(config.lateTopic(), 1, false);
        createTopic(config.patternEventsTopic(), 1, false);
        createTopic(config.controlTopic(), 1, false);
        createTopic(config.outcomesTopic(), 1, false);
    }

    /** A fresh broker may briefly answer UNKNOWN_TOPIC_OR_PARTITION for a topic it just created; creating is idempotent. */
    private static void createTopic(String name, int partitions, boolean compacted) {
        for (int attempt = 1; ; attempt++) {
            try {
                kafka.createTopic(name, partitions, compacted);
                return;
            } catch (IllegalStateException e) {
                if (attempt == 3) throw e;
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (job != null) job.cancel().get();
        if (kafka != null) kafka.close();
    }

    /** Starts the job and sends the traffic once; from a test, where the extension's cluster is the environment's. */
    private static synchronized void runOnce() throws Exception {
        if (job != null) return;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        BehaviorCepJob.prepare(env, config, new KafkaIO(config));
        job = env.executeAsync("metrics-it");
        Configuration client = FLINK.getClientConfiguration();
        rest = "http://" + client.get(RestOptions.ADDRESS) + ":" + client.get(RestOptions.PORT);
        waitFor("all tasks running", () -> allTasksRunning() ? 1 : 0, n -> n == 1);
        sendTraffic();
    }

    private static void sendTraffic() throws Exception {
        // 600 simulated seconds per wall second: an hour of shop traffic, so that 15- and 30-minute absences are decided
        TrafficGenerator generator = new TrafficGenerator(TrafficGenerator.Config.defaults(7)
                .withUsers(400).withEventsPerSecond(2_000).withTimeSpeed(600).withRatios(0.01, 0.01, 0.002));
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int done = 0; done < RECORDS; done += 200) {
                List<GeneratedRecord> batch = generator.nextBatch(200);
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (GeneratedRecord r : batch) acks.add(producer.send(new ProducerRecord<>(config.eventsTopic(), r.key(), r.value())));
                for (int i = 0; i < batch.size(); i++) {
                    GeneratedRecord r = batch.get(i);
                    int partition = acks.get(i).get().partition();
                    sent.merge(r.kind(), 1, Integer::sum);
                    if (r.kind() == Kind.EVENT) {
                        JsonNode e = JSON.readTree(r.value());
                        eventTimes.add(new long[] {partition, Instant.parse(e.get("timestamp").asText()).toEpochMilli()});
                        eventUsers.add(r.keyString());
                    }
                }
                Thread.sleep(100); // paced (about 2,000 records/s) so that the job reads them as they come
            }
        }
        assertThat(sent.get(Kind.MALFORMED)).isPositive();
        assertThat(sent.get(Kind.DUPLICATE)).isPositive();
        assertThat(sent.get(Kind.LATE)).isPositive();
    }

    @Test
    void webUiShowsWhatWasSentAndWhatTheJobWrote() throws Exception {
        runOnce();
        // job-wide, 'Parse & validate' and 'Dedup & late routing'
        waitFor("eventsIn", () -> metric("eventsIn"), n -> n == RECORDS);
        waitFor("dead letters (dlq.*)", () -> metricSum(id -> id.contains(".dlq.")), n -> n == sent.get(Kind.MALFORMED));
        assertThat(metricSum(id -> id.endsWith(".deadLetters") && id.contains(".reason."))).isEqualTo((long) sent.get(Kind.MALFORMED));
        waitFor("duplicatesDropped", () -> metric("duplicatesDropped"), n -> n == sent.get(Kind.DUPLICATE));
        // a late record sent in the first moments, before the first watermark, is not yet late
        waitFor("lateEvents", () -> metric("lateEvents"), n -> n >= sent.get(Kind.LATE) - 2 && n <= sent.get(Kind.LATE));

        // profiles held: users with an event the watermark has passed (events wait for it in the profile operator)
        long watermark = watermarkAfterTraffic();
        Set<String> profiled = new HashSet<>();
        for (int i = 0; i < eventTimes.size(); i++) if (eventTimes.get(i)[1] <= watermark) profiled.add(eventUsers.get(i));
        waitFor("profilesHeld", () -> metric("profilesHeld"), n -> n == profiled.size());

        // per pattern: matches and the deadline-decided ones, and the events each pattern evaluated
        // (event time stands still now, so these settle)
        assertThat(metric("pattern.cart-abandonment.version.1.matches")).isPositive();
        waitFor("cart-abandonment: every match decided by its deadline", () -> metric("pattern.cart-abandonment.version.1.matches")
                - metric("pattern.cart-abandonment.version.1.timeoutsFired"), n -> n == 0);
        assertThat(metric("pattern.cart-abandonment.version.1.eventsEvaluated")).isPositive().isLessThan(RECORDS);
        assertThat(metric("pattern.cart-abandonment.version.1.conditionErrors")).isZero();

        // alerts per pattern and segment members, against what reached Kafka (read_committed)
        Map<String, Long> alerts = new TreeMap<>();
        Map<String, Long> members = new TreeMap<>();
        Map<String, JsonNode> latest = new HashMap<>();
        // the segments of the patterns (the gauge's); other segment sources, if any, are not compared
        Set<String> patternSegments = new HashSet<>();
        Repo.shippedPatterns().forEach(p -> {
            if (p.segment != null) patternSegments.add(p.segment.name);
        });
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            consumer.subscribe(List.of(config.alertsTopic(), config.segmentsTopic()));
            long deadline = System.nanoTime() + WAIT.toNanos();
            Map<String, Long> alertMetrics = Map.of();
            Map<String, Long> memberMetrics = Map.of();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(300))) {
                    JsonNode v = JSON.readTree(r.value());
                    if (r.topic().equals(config.alertsTopic())) alerts.merge(v.get("pattern_id").asText(), 1L, Long::sum);
                    else latest.put(new String(r.key(), StandardCharsets.UTF_8), v);
                }
                // what a reader of the compacted topic sees: each user's latest update per segment
                members.clear();
                latest.values().forEach(v -> {
                    String segment = v.get("segment").asText();
                    if (v.get("action").asText().equals("enter") && patternSegments.contains(segment)) members.merge(segment, 1L, Long::sum);
                });
                alertMetrics = perPattern("alertsEmitted");
                memberMetrics = perSegmentMembers();
                if (!alerts.isEmpty() && alerts.equals(alertMetrics) && members.equals(memberMetrics)) break;
            }
            // output is committed on checkpoints: say how they went if the numbers differ
            String checkpoints = get("/jobs/" + job.getJobID() + "/checkpoints").path("counts").toString()
                    + " latest failed: " + get("/jobs/" + job.getJobID() + "/checkpoints").at("/latest/failed");
            assertThat(alertMetrics).as("alertsEmitted per pattern, web UI (checkpoints " + checkpoints + ")").isEqualTo(alerts).containsKey("cart-abandonment");
            assertThat(memberMetrics).as("segment members, web UI").isEqualTo(members).containsKey("cart_abandoners");
        }
    }

    @Test
    void prometheusExportsEveryMetricTheDashboardQueries() throws Exception {
        runOnce();
        waitFor("eventsIn", () -> metric("eventsIn"), n -> n == RECORDS);
        String jobId = job.getJobID().toString();
        String scrape = null;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (scrape == null && System.nanoTime() < deadline) {
            scrape = scrapeOwnReporter(jobId);
            if (scrape == null) Thread.sleep(300);
        }
        assertThat(scrape).as("a Prometheus endpoint on ports " + PROMETHEUS_PORTS + " with this job's metrics").isNotNull();
        Map<String, Double> byName = new TreeMap<>();
        Pattern sample = Pattern.compile("^(flink_[a-zA-Z0-9_:]+)(\\{[^}]*})?\\s+(\\S+)", Pattern.MULTILINE);
        Matcher m = sample.matcher(scrape);
        while (m.find()) {
            if (m.group(2) != null && !m.group(2).contains(jobId) && m.group(1).contains("_job_")) continue;
            byName.merge(m.group(1), Double.parseDouble(m.group(3)), Double::sum);
        }
        assertThat(byName.keySet()).containsAll(PrometheusNames.queriedByDashboard());
        // the same number under both names, labelled as the dashboard expects
        assertThat(byName.get("flink_taskmanager_job_task_operator_eventsIn")).isEqualTo((double) RECORDS);
        assertThat(scrape).contains("pattern=\"cart-abandonment\"");
        for (String operator : PrometheusNames.operatorNamesQueried()) assertThat(scrape).contains("operator_name=\"" + operator + "\"");
    }

    // ---- the REST API of the web UI -----------------------------------------------------------

    /** A metric (any operator; ids are "<operator>.<groups>.<name>") summed over its subtasks. */
    private static long metric(String idSuffix) throws Exception {
        return metricSum(id -> id.endsWith("." + idSuffix));
    }

    /** Every metric whose id passes, of every vertex, summed over subtasks: /jobs/:id/vertices/:vid/subtasks/metrics?get=...&agg=sum */
    private static long metricSum(Predicate<String> ids) throws Exception {
        long total = 0;
        for (Map.Entry<String, List<String>> v : metricIds().entrySet()) {
            List<String> wanted = v.getValue().stream().filter(ids).toList();
            if (wanted.isEmpty()) continue;
            String url = "/jobs/" + job.getJobID() + "/vertices/" + v.getKey() + "/subtasks/metrics?agg=sum&get="
                    + URLEncoder.encode(String.join(",", wanted), StandardCharsets.UTF_8);
            for (JsonNode agg : get(url)) total += (long) agg.get("sum").asDouble();
        }
        return total;
    }

    /** Per key (pattern id, segment name) the sum of the metrics whose id matches {@code idPattern} (group 1 = key), without zeros. */
    private static Map<String, Long> byGroup(Pattern idPattern) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        Set<String> keys = new HashSet<>();
        for (List<String> ids : metricIds().values()) {
            for (String id : ids) {
                Matcher m = idPattern.matcher(id);
                if (m.find()) keys.add(m.group(1));
            }
        }
        for (String key : keys) {
            long n = metricSum(id -> {
                Matcher m = idPattern.matcher(id);
                return m.find() && m.group(1).equals(key);
            });
            if (n != 0) out.put(key, n);
        }
        return out;
    }

    private static Map<String, Long> perPattern(String name) throws Exception {
        return byGroup(Pattern.compile("\\.pattern\\.([^.]+)\\.version\\.\\d+\\." + name + "$"));
    }

    private static Map<String, Long> perSegmentMembers() throws Exception {
        return byGroup(Pattern.compile("\\.segment\\.([^.]+)\\.members$"));
    }

    /** Vertex id → the ids of its metrics (every operator of the chain), as the web UI lists them. */
    private static Map<String, List<String>> metricIds() throws Exception {
        Map<String, List<String>> out = new TreeMap<>();
        for (JsonNode v : get("/jobs/" + job.getJobID()).get("vertices")) {
            List<String> ids = new ArrayList<>();
            for (JsonNode metric : get("/jobs/" + job.getJobID() + "/vertices/" + v.get("id").asText() + "/subtasks/metrics")) {
                ids.add(metric.get("id").asText());
            }
            out.put(v.get("id").asText(), ids);
        }
        return out;
    }

    private static boolean allTasksRunning() throws Exception {
        JsonNode j = get("/jobs/" + job.getJobID());
        if (!"RUNNING".equals(j.path("state").asText())) return false;
        for (JsonNode v : j.get("vertices")) {
            if (!"RUNNING".equals(v.path("status").asText())) return false;
        }
        return true;
    }

    private static JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(rest + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** Polls every 300 ms until {@code done} holds (then returns the value) or fails with the last value. */
    private static long waitFor(String what, ThrowingLongSupplier value, java.util.function.LongPredicate done) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        long last = Long.MIN_VALUE;
        while (System.nanoTime() < deadline) {
            last = value.getAsLong();
            if (done.test(last)) return last;
            Thread.sleep(300);
        }
        throw new AssertionError(what + ": still " + last + " after " + WAIT.toSeconds() + " s (sent " + sent + ")");
    }

    @FunctionalInterface
    private interface ThrowingLongSupplier {
        long getAsLong() throws Exception;
    }

    /** The watermark the job stays at once the traffic stops: the slowest partition's newest event minus the out-of-orderness. */
    private static long watermarkAfterTraffic() {
        Map<Long, Long> newest = new HashMap<>();
        for (long[] e : eventTimes) newest.merge(e[0], e[1], Math::max);
        assertThat(newest).hasSize(2);
        return newest.values().stream().mapToLong(Long::longValue).min().orElseThrow() - config.maxOutOfOrderness().toMillis() - 1;
    }

    private static KafkaConsumer<byte[], byte[]> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "metrics-it");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** The text of the Prometheus endpoint (in the port range) that exports this job's metrics, or null. */
    private static String scrapeOwnReporter(String jobId) {
        String[] range = PROMETHEUS_PORTS.split("-");
        for (int port = Integer.parseInt(range[0]); port <= Integer.parseInt(range[1]); port++) {
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("job_id=\"" + jobId + "\"") && r.body().contains("_eventsIn")) return r.body();
            } catch (IOException e) {
                // nothing on that port
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }
}
