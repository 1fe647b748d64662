package io.behaviorcep.cli;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.ClasspathFolder;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.local.EmbeddedKafka;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.sink.SqlMigrations;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.BindException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything on one machine with nothing installed: an in-process Kafka broker, an embedded
 * PostgreSQL, a Flink MiniCluster with its web UI, synthetic shoppers, and the job itself.
 */
@Command(name = "local", mixinStandardHelpOptions = true,
        description = "Run the job locally on embedded Kafka and PostgreSQL with synthetic traffic and the Flink web UI.")
public final class LocalCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = "--duration", description = "stop after this long, e.g. 60s or 5m (default: until Ctrl-C)")
    String duration;

    @Option(names = "--ui-port", defaultValue = "8081", description = "Flink web UI port (default: ${DEFAULT-VALUE})")
    int uiPort;

    @Option(names = "--patterns", description = "pattern folder (default: ./patterns if present, else the patterns shipped in the jar)")
    Path patterns;

    @Option(names = "--no-watch", description = "do not apply changes of the pattern folder while running (default: saved changes go live in seconds)")
    boolean noWatch;

    @Option(names = "--events-per-second", defaultValue = "400", description = "synthetic events per second (default: ${DEFAULT-VALUE})")
    double eventsPerSecond;

    @Option(names = "--users", defaultValue = "2000", description = "synthetic users (default: ${DEFAULT-VALUE})")
    int users;

    @Option(names = "--time-speed", defaultValue = "60",
            description = "simulated seconds per wall second, so that 15-minute absences are decided in seconds (default: ${DEFAULT-VALUE})")
    double timeSpeed;

    @Option(names = "--parallelism", defaultValue = "2")
    int parallelism;

    @Option(names = "--status-every", defaultValue = "5s", description = "how often to print the live line (default: ${DEFAULT-VALUE})")
    String statusEvery;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    private final Map<String, AtomicLong> outputs = new ConcurrentHashMap<>();
    private volatile String lastAlert = "";
    /** Pattern id to the version the job runs (enabled ones), from the start and then from the pattern-events topic. */
    private final Map<String, Integer> liveVersions = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ObjectMapper json = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        Duration runFor = duration == null ? null : Durations.parse(duration);
        long statusMillis = Durations.parse(statusEvery).toMillis();
        checkPortFree(uiPort);
        long t0 = System.nanoTime();

        Path workDir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "behavior-cep-local"));
        Path patternDir = patterns != null ? patterns : Files.isDirectory(Path.of("patterns")) ? Path.of("patterns") : extractShippedPatterns(workDir);

        say("starting Kafka (in-process KRaft broker) and PostgreSQL (embedded) ...");
        AtomicBoolean running = new AtomicBoolean(true);
        CountDownLatch stopped = new CountDownLatch(1);
        try (EmbeddedKafka kafka = quietly(EmbeddedKafka::start); EmbeddedPostgresDb pg = EmbeddedPostgresDb.start()) {
            Map<String, String> settings = new HashMap<>();
            settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
            settings.put("jdbc.url", pg.jdbcUrl());
            settings.put("jdbc.user", pg.user());
            settings.put("jdbc.password", pg.password());
            // the embedded database lives as long as this run: a random audit key unless one is given
            if (System.getenv(io.behaviorcep.config.JdbcSettings.DEFAULT_AUDIT_KEY_ENV) == null
                    && System.getProperty(io.behaviorcep.config.JdbcSettings.DEFAULT_AUDIT_KEY_ENV) == null) {
                System.setProperty(io.behaviorcep.config.JdbcSettings.DEFAULT_AUDIT_KEY_ENV, java.util.UUID.randomUUID().toString());
            }
            settings.put("patterns.dir", patternDir.toString());
            settings.put("checkpoint.interval", "5s");
            settings.put("kafka.starting-offsets", "earliest");
            settings.put("patterns.watch", Boolean.toString(!noWatch));
            settings.put("patterns.watch-interval", "1s");
            // about 2 s of wall time at the simulated speed: enough for the change to reach every subtask
            settings.put("patterns.activation-delay", Math.max(1, Math.round(2 * timeSpeed)) + "s");
            JobConfig config = JobConfig.of(settings);

            kafka.createTopic(config.eventsTopic(), parallelism, false);
            kafka.createTopic(config.alertsTopic(), 1, false);
            kafka.createTopic(config.segmentsTopic(), 1, true);
            kafka.createTopic(config.dlqTopic(), 1, false);
            kafka.createTopic(config.lateTopic(), 1, false);
            kafka.createTopic(config.patternEventsTopic(), 1, false);
            kafka.createTopic(config.controlTopic(), 1, false);
            kafka.createTopic(config.outcomesTopic(), 1, false);
            try (Connection c = pg.connect()) {
                List<String> applied = SqlMigrations.apply(c, "public");
                say("PostgreSQL migrations applied: " + applied);
            }

            Configuration flinkConf = flinkConfiguration(uiPort, parallelism, Files.createTempDirectory(workDir, "checkpoints-"));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(flinkConf);
            env.setParallelism(parallelism);
            List<PatternDefinition> loaded = BehaviorCepJob.prepare(env, config, new KafkaIO(config));
            for (PatternDefinition p : loaded) if (p.enabled) liveVersions.put(p.id, p.version);
            // the deliver pipeline in the same job graph, POSTing alerts to a demo receiver that prints them
            io.behaviorcep.deliver.LocalDemoReceiver webhooks = io.behaviorcep.deliver.LocalDemoReceiver.addTo(env, config, kafka, workDir);
            JobClient job = env.executeAsync(BehaviorCepJob.JOB_NAME + " (local)");

            TrafficGenerator generator = new TrafficGenerator(TrafficGenerator.Config.defaults(seed)
                    .withUsers(users).withEventsPerSecond(eventsPerSecond).withTimeSpeed(timeSpeed)
                    .withSimulatedStart(Instant.now().minus(Duration.ofDays(2))));
            Thread producerThread = new Thread(() -> {
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps(kafka.bootstrapServers()))) {
                    generator.runTo(producer, config.eventsTopic(), running::get);
                } catch (RuntimeException e) {
                    if (running.get()) System.err.println("traffic generator stopped: " + e.getMessage());
                }
            }, "traffic-generator");
            Thread consumerThread = new Thread(() -> countOutputs(kafka.bootstrapServers(), config, running), "output-counter");
            producerThread.start();
            consumerThread.start();

            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                running.set(false);
                try {
                    stopped.await(); // let the main thread close everything before the JVM exits
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }, "local-shutdown"));

            say(String.format("ready in %.1f s", (System.nanoTime() - t0) / 1e9));
            System.out.println();
            System.out.println("  Flink web UI     http://localhost:" + uiPort + "   (job: " + job.getJobID() + ")");
            System.out.println("  Kafka            " + kafka.bootstrapServers() + "   topics: " + String.join(", ", new KafkaIO(config).topics()));
            System.out.println("  PostgreSQL       " + pg.jdbcUrl() + "   user " + pg.user() + (pg.password().isEmpty() ? " (no password)" : " / password " + pg.password())
                    + "   tables: alerts, segment_events, user_segments, user_profiles, suppressed_users, erasures"
                    + " (views segment_members, user_overview)");
            System.out.println("  patterns         " + patternDir.toAbsolutePath() + ": "
                    + String.join(", ", loaded.stream().map(PatternDefinition::label).toList()));
            List<String> thresholds = io.behaviorcep.pattern.PatternLoader.load(patternDir).segments().stream()
                    .map(s -> s.id).toList();
            if (!thresholds.isEmpty()) System.out.println("  segments         threshold segments: " + String.join(", ", thresholds));
            System.out.println("  pattern changes  " + (noWatch ? "not watched (--no-watch): restart to change patterns"
                    : "edit, add or delete a file in " + patternDir.toAbsolutePath() + " and save: valid changes go live in seconds "
                    + "(raise its version), invalid ones are rejected and printed; topic " + config.patternEventsTopic()));
            System.out.println("  webhooks         alerts are POSTed to " + webhooks.url() + " (printed below), outcomes in topic "
                    + io.behaviorcep.deliver.DeliverJob.DEFAULT_DELIVERIES_TOPIC + " and table deliveries");
            System.out.println("  traffic          " + (int) eventsPerSecond + " events/s from " + users + " users, simulated time x" + (int) timeSpeed
                    + (runFor == null ? "   (Ctrl-C to stop)" : "   (stopping after " + duration + ")"));
            System.out.println();

            long started = System.currentTimeMillis();
            long lastSent = 0;
            long lastTick = started;
            while (running.get()) {
                Thread.sleep(Math.min(statusMillis, 250));
                long now = System.currentTimeMillis();
                if (runFor != null && now - started >= runFor.toMillis()) running.set(false);
                if (now - lastTick >= statusMillis || !running.get()) {
                    long sent = generator.sent().get();
                    double rate = (sent - lastSent) * 1000.0 / Math.max(1, now - lastTick);
                    lastSent = sent;
                    lastTick = now;
                    System.out.println(statusLine(now - started, sent, rate, generator, job));
                }
                if (job.getJobStatus().get().isGloballyTerminalState()) {
                    System.err.println("the job stopped: " + job.getJobStatus().get());
                    running.set(false);
                }
            }

            producerThread.join(10_000);
            // one more checkpoint so the last alerts become visible to read_committed readers
            Thread.sleep(6_000);
            consumerThread.join(10_000);
            long elapsed = System.currentTimeMillis() - started;
            System.out.println();
            System.out.println("totals after " + Duration.ofMillis(elapsed).toSeconds() + " s: "
                    + statusLine(elapsed, generator.sent().get(), generator.sent().get() * 1000.0 / Math.max(1, elapsed), generator, job).trim());
            if (!lastAlert.isEmpty()) System.out.println("last alert: " + lastAlert);
            job.cancel().get();
            webhooks.close();
            return 0;
        } finally {
            stopped.countDown();
        }
    }

    private String statusLine(long elapsedMillis, long sent, double rate, TrafficGenerator g, JobClient job) {
        return String.format("[%4ds] events in %,d (%.0f/s)  alerts %,d  segment updates %,d  DLQ %,d  late %,d  duplicates dropped %s  (simulated time %s)  patterns: %s",
                elapsedMillis / 1000, sent, rate, count("alerts"), count("segments"), count("dlq"), count("late"),
                duplicatesDropped(job), g.simulatedNow().toString().substring(0, 16), liveVersionsText());
    }

    /** e.g. {@code cart-abandonment v2, dormancy-14d v1}. */
    String liveVersionsText() {
        if (liveVersions.isEmpty()) return "none";
        List<String> out = new java.util.ArrayList<>();
        liveVersions.forEach((id, v) -> out.add(id + " v" + v));
        return String.join(", ", out);
    }

    /** Prints one record of the pattern-events topic as it arrives and keeps the live versions up to date. */
    void patternEvent(String record) {
        try {
            JsonNode e = json.readTree(record);
            String id = e.path("pattern_id").isNull() ? null : e.path("pattern_id").asText(null);
            String version = e.path("version").isNull() ? "" : " v" + e.path("version").asText();
            String change = e.path("change").asText();
            String file = e.path("file").asText();
            if ("accepted".equals(e.path("kind").asText())) {
                if (id != null) {
                    if (change.equals("deleted") || change.equals("disabled")) liveVersions.remove(id);
                    else liveVersions.put(id, e.path("version").asInt());
                }
                String at = e.path("activate_at").asText("");
                System.out.println("  pattern change accepted: " + id + version + " " + change + " (" + file + "), in effect from simulated time "
                        + (at.length() >= 19 ? at.substring(0, 19).replace('T', ' ') : at));
            } else {
                StringBuilder sb = new StringBuilder("  pattern change REJECTED: " + file + (id == null ? "" : " (" + id + version + ")")
                        + "; the running version stays:");
                e.path("problems").forEach(p -> sb.append("\n      ").append(p.asText()));
                System.out.println(sb);
            }
        } catch (IOException | RuntimeException ex) {
            System.out.println("  pattern event: " + record);
        }
    }

    private long count(String what) {
        AtomicLong c = outputs.get(what);
        return c == null ? 0 : c.get();
    }

    /** What the job counted, read from its own metric through the web UI's REST API. */
    private String duplicatesDropped(JobClient job) {
        try {
            HttpClient http = this.http;
            ObjectMapper m = this.json;
            String base = "http://localhost:" + uiPort + "/jobs/" + job.getJobID();
            JsonNode vertices = m.readTree(get(http, base)).get("vertices");
            for (JsonNode v : vertices) {
                if (!v.get("name").asText().contains("Dedup")) continue;
                String vbase = base + "/vertices/" + v.get("id").asText() + "/subtasks/metrics";
                for (JsonNode metric : m.readTree(get(http, vbase))) {
                    String id = metric.get("id").asText();
                    if (id.endsWith(".duplicatesDropped")) {
                        JsonNode agg = m.readTree(get(http, vbase + "?get=" + java.net.URLEncoder.encode(id, java.nio.charset.StandardCharsets.UTF_8) + "&agg=sum"));
                        return agg.size() == 0 ? "0" : String.format("%,d", (long) agg.get(0).get("sum").asDouble());
                    }
                }
            }
        } catch (Exception e) {
            // the line is informative; a missing figure must not stop the run
        }
        return "?";
    }

    private static String get(HttpClient http, String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private void countOutputs(String bootstrap, JobConfig config, AtomicBoolean running) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "behavior-cep-local-status");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        Map<String, String> names = Map.of(config.alertsTopic(), "alerts", config.segmentsTopic(), "segments",
                config.dlqTopic(), "dlq", config.lateTopic(), "late", config.patternEventsTopic(), "pattern-events");
        long deadline = Long.MAX_VALUE;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(names.keySet());
            while (System.currentTimeMillis() < deadline) {
                if (!running.get() && deadline == Long.MAX_VALUE) deadline = System.currentTimeMillis() + 7_000;
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(250))) {
                    String what = names.get(r.topic());
                    outputs.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
                    if (what.equals("alerts")) lastAlert = new String(r.value(), java.nio.charset.StandardCharsets.UTF_8);
                    if (what.equals("pattern-events")) patternEvent(new String(r.value(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        }
    }

    private static Properties producerProps(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return p;
    }

    private static Path extractShippedPatterns(Path workDir) throws IOException {
        Path dir = Files.createDirectories(workDir.resolve("patterns"));
        for (Map.Entry<String, String> f : ClasspathFolder.read("patterns").entrySet()) {
            Files.writeString(dir.resolve(f.getKey()), f.getValue());
        }
        return dir;
    }

    /**
     * The MiniCluster's configuration: web UI and REST API on {@code uiPort} of 127.0.0.1 only. The
     * REST API uploads and runs jars, and by default it listens on every interface while `local`
     * says localhost; the other servers (blob server, RPC) are held to loopback as well.
     */
    public static Configuration flinkConfiguration(int uiPort, int parallelism, Path checkpointsDir) {
        Configuration flinkConf = new Configuration();
        flinkConf.set(RestOptions.PORT, uiPort);
        flinkConf.set(RestOptions.BIND_ADDRESS, LOOPBACK);
        flinkConf.set(RestOptions.ADDRESS, LOOPBACK);
        flinkConf.set(JobManagerOptions.BIND_HOST, LOOPBACK);
        flinkConf.set(JobManagerOptions.ADDRESS, LOOPBACK);
        flinkConf.set(TaskManagerOptions.BIND_HOST, LOOPBACK);
        flinkConf.set(TaskManagerOptions.HOST, LOOPBACK);
        flinkConf.setString("taskmanager.numberOfTaskSlots", Integer.toString(parallelism));
        // checkpoints to files: the default (job manager memory, at most 5 MB per state handle) is
        // outgrown by the pattern engine's state within a minute of synthetic traffic; every
        // checkpoint then fails, the job restarts, and no output is committed any more
        flinkConf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        flinkConf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpointsDir.toUri().toString());
        return flinkConf;
    }

    private static final String LOOPBACK = "127.0.0.1";

    private static void checkPortFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 50, java.net.InetAddress.getByName(LOOPBACK))) {
            s.setReuseAddress(true);
        } catch (BindException e) {
            throw new IllegalStateException("port " + port + " is in use (another Flink web UI?); pick another with --ui-port");
        } catch (IOException e) {
            throw new IllegalStateException("cannot check port " + port + ": " + e.getMessage());
        }
    }

    /** The broker's test kit prints its formatting chatter to stdout; keep the console for what the user needs. */
    private static <T> T quietly(java.util.function.Supplier<T> start) {
        java.io.PrintStream out = System.out;
        System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            return start.get();
        } finally {
            System.setOut(out);
        }
    }

    private static void say(String s) {
        System.out.println("behavior-cep local: " + s);
    }
}
