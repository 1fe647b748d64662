package io.behaviorcep.bench;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.testing.cep.EventTimeOrder;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.testing.cep.AbsenceDeadlineCepOperator;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.cep.CEP;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.nfa.aftermatch.AfterMatchSkipStrategy;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.cep.pattern.WithinType;
import org.apache.flink.cep.pattern.conditions.SimpleCondition;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The contenders, each one Flink job over the same in-memory traffic on a local MiniCluster:
 * (a) the real job, (b) plain Flink CEP, (c) MATCH_RECOGNIZE, (d) a hand-written state machine.
 * Each returns what it found; the time is the job's net runtime (submission to end, without
 * starting the MiniCluster).
 */
public final class Contenders {
    public static final String CART = "cart-abandonment";
    /** The job's bound; the generator stays well below it, so no event is late. */
    public static final Duration OUT_OF_ORDERNESS = Duration.ofSeconds(30);

    private Contenders() {}

    public record Settings(int parallelism, String backend) {}

    /** What one run found. {@code matches}: raw matches or alerts emitted; {@code set}: distinct "pattern user anchor" when recorded. */
    public record Outcome(long millis, long matches, java.util.Set<String> set, long segmentUpdates, long deadLetters, long late,
                          long emitted) {}

    public static StreamExecutionEnvironment env(Settings s) {
        return env(s, null);
    }

    /** @param checkpointDir where checkpoints (and the state of savepoints) go; null: the JobManager's memory (5 MB at most) */
    public static StreamExecutionEnvironment env(Settings s, Path checkpointDir) {
        Configuration conf = new Configuration();
        if (checkpointDir != null) {
            conf.set(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            conf.set(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpointDir.toUri().toString());
        }
        conf.set(StateBackendOptions.STATE_BACKEND, s.backend);
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        conf.setString("taskmanager.memory.managed.size", "256m");
        conf.setString("rest.bind-port", "0");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(s.parallelism, conf);
        env.setParallelism(s.parallelism);
        return env;
    }

    /** Extra job settings ({@code --job-config key=value,...}), e.g. to switch the pattern engine. */
    static final Map<String, String> EXTRA_JOB_CONFIG = new java.util.concurrent.ConcurrentHashMap<>();

    public static JobConfig jobConfig() {
        return jobConfig(null);
    }

    /**
     * @param policy the messaging policy file to run with; null: none. Without this the job would
     *               pick up {@code patterns/policy.yaml} from the working directory, and what (a)
     *               sends would then depend on where the benchmark is started
     */
    public static JobConfig jobConfig(Path policy) {
        Map<String, String> c = new java.util.HashMap<>(Map.of("kafka.bootstrap-servers", "in-memory:0",
                "events.max-out-of-orderness", OUT_OF_ORDERNESS.toSeconds() + "s",
                // no wall-clock idleness: a busy benchmark must never make event time jump
                "events.idle-advance", "false", "events.idle-timeout", "1h",
                "policy.file", policy == null ? "none" : policy.toAbsolutePath().toString()));
        c.putAll(EXTRA_JOB_CONFIG);
        return JobConfig.of(c);
    }

    // ---- (a) the real job ---------------------------------------------------------------------------

    public static Outcome job(String rawId, int n, List<PatternDefinition> patterns, Settings s, boolean record) throws Exception {
        return job(rawId, n, patterns, List.of(), s, record);
    }

    /** The job with these patterns and threshold segments (as {@code run} builds it from a folder). */
    public static Outcome job(String rawId, int n, List<PatternDefinition> patterns, List<io.behaviorcep.pattern.ThresholdSegment> segments,
                              Settings s, boolean record) throws Exception {
        return job(rawId, n, patterns, segments, null, s, record);
    }

    /** @param policy the messaging policy file; null: none */
    public static Outcome job(String rawId, int n, List<PatternDefinition> patterns, List<io.behaviorcep.pattern.ThresholdSegment> segments,
                              Path policy, Settings s, boolean record) throws Exception {
        MemorySource.resetEmitted(rawId);
        CountingIO io = new CountingIO(rawId, s.parallelism, 0, false, record, null);
        try {
            StreamExecutionEnvironment env = env(s);
            BehaviorCepPipeline.build(env, jobConfig(policy), patterns, segments, io);
            JobExecutionResult r = env.execute("bench: job, " + patterns.size() + " pattern(s)");
            CountingIO.Run run = io.run();
            return new Outcome(r.getNetRuntime(), run.alerts.sum(), distinct(run), run.segmentUpdates.sum(), run.deadLetters.sum(),
                    run.late.sum(), MemorySource.emitted(rawId));
        } finally {
            io.release();
        }
    }

    private static java.util.Set<String> distinct(CountingIO.Run run) {
        return new java.util.TreeSet<>(run.matches);
    }

    /** The job with a paced source (record i leaves at start + i / rate); the alert sink measures each alert's latency. */
    public static BenchMain.LatencyRun latency(String rawId, int n, List<PatternDefinition> patterns, Settings s, double rate,
                                               CountingIO.DeadlineClock clock) throws Exception {
        MemorySource.resetEmitted(rawId);
        CountingIO io = new CountingIO(rawId, s.parallelism, rate, false, false, clock);
        try {
            StreamExecutionEnvironment env = env(s);
            BehaviorCepPipeline.build(env, jobConfig(), patterns, io);
            env.execute("bench: latency");
            if (MemorySource.emitted(rawId) != n) throw new IllegalStateException("the source emitted " + MemorySource.emitted(rawId) + " of " + n);
            List<long[]> l;
            synchronized (io.run().latencies) {
                l = new java.util.ArrayList<>(io.run().latencies);
            }
            return new BenchMain.LatencyRun(l, MemorySource.maxLagNanos(rawId) < 1_000_000_000L);
        } finally {
            io.release();
        }
    }

    // ---- the peers' input ---------------------------------------------------------------------------

    static DataStream<BehaviorEvent> parsedEvents(StreamExecutionEnvironment env, String eventsId, Settings s) {
        return env.fromSource(MemorySource.create(eventsId, s.parallelism, 0, false, r -> new BehaviorEvent(),
                        TypeInformation.of(BehaviorEvent.class)), WatermarkStrategy.noWatermarks(), "In-memory parsed events")
                .filter(e -> e.messageId != null).name("Drop fillers")
                .assignTimestampsAndWatermarks(WatermarkStrategy.<BehaviorEvent>forBoundedOutOfOrderness(OUT_OF_ORDERNESS)
                        .withTimestampAssigner((e, ts) -> e.timestamp))
                .name("Event time");
    }

    // ---- (b) plain Flink CEP ------------------------------------------------------------------------

    /** view -> followedByAny add within 30m (+1 ms, inclusive) -> no order within 15m (+1 ms), every (view, add) pair a match. */
    public static Pattern<BehaviorEvent, ?> cartAbandonmentPattern() {
        return Pattern.<BehaviorEvent>begin("viewed", AfterMatchSkipStrategy.noSkip())
                .where(SimpleCondition.of(e -> Traffic.VIEWED.equals(e.event)))
                .followedByAny("added")
                .where(SimpleCondition.of(e -> Traffic.ADDED.equals(e.event)))
                .within(Duration.ofMinutes(30).plusMillis(1), WithinType.PREVIOUS_AND_CURRENT)
                .notFollowedBy("no_order")
                .where(SimpleCondition.of(e -> Traffic.ORDER.equals(e.event)))
                .within(Duration.ofMinutes(15).plusMillis(1), WithinType.PREVIOUS_AND_CURRENT);
    }

    static final long DEADLINE_AFTER = Duration.ofMinutes(15).plusMillis(1).toMillis();

    /**
     * @param deadlineTimers true: in the project's {@link AbsenceDeadlineCepOperator} (Flink's CepOperator
     *                       plus a timer at each absence deadline), as the differential test runs it;
     *                       false: {@code CEP.pattern(...)} as is, which never reports a user who goes quiet
     */
    public static Outcome plainCep(String eventsId, Settings s, boolean record, boolean deadlineTimers) throws Exception {
        MemorySource.resetEmitted(eventsId);
        String runId = PeerSink.newRun();
        try {
            StreamExecutionEnvironment env = env(s);
            KeyedStream<BehaviorEvent, String> keyed = parsedEvents(env, eventsId, s).keyBy(e -> e.userKey);
            DataStream<String> matches = deadlineTimers
                    ? AbsenceDeadlineCepOperator.apply(keyed, cartAbandonmentPattern(), new AnchorOf(CART), Types.STRING, null, DEADLINE_AFTER)
                    : CEP.pattern(keyed, cartAbandonmentPattern()).inEventTime().process(new AnchorOf(CART), Types.STRING);
            matches.sinkTo(new PeerSink(runId, record)).name("Count matches");
            JobExecutionResult r = env.execute("bench: plain CEP");
            return PeerSink.outcome(runId, r, MemorySource.emitted(eventsId));
        } finally {
            PeerSink.release(runId);
        }
    }

    /**
     * (e) The job's pattern engine alone, on the same pre-parsed keyed events as (b): the shipped
     * pattern file compiled and run in {@link PatternEngineFunction}, matches out (no profile, no actions).
     */
    public static Outcome engineOnly(String eventsId, Settings s, boolean record, PatternDefinition def) throws Exception {
        MemorySource.resetEmitted(eventsId);
        String runId = PeerSink.newRun();
        try {
            StreamExecutionEnvironment env = env(s);
            // the engine takes each user's events in event-time order (in the job, the profile operator
            // releases them so); alone, a per-user ordering buffer goes in front of it, chained
            KeyedStream<BehaviorEvent, String> ordered = org.apache.flink.streaming.api.datastream.DataStreamUtils.reinterpretAsKeyedStream(
                    parsedEvents(env, eventsId, s)
                            // the engine's pre-filter, before the shuffle: events no step can take never travel
                            .filter(e -> !io.behaviorcep.pattern.CepPatternCompiler.canPreFilter(def)
                                    || io.behaviorcep.pattern.CepPatternCompiler.isRelevant(def, e)).name("Pre-filter")
                            .keyBy(e -> e.userKey).process(new EventTimeOrder()).name("Event-time order"),
                    e -> e.userKey);
            DataStream<String> matches = ordered.process(new PatternEngineFunction(List.of(def)), org.apache.flink.api.common.typeinfo.TypeInformation.of(io.behaviorcep.engine.ActionInput.class)).name("Pattern engine")
                    .flatMap((io.behaviorcep.engine.ActionInput in, Collector<String> out) -> {
                        if (in instanceof io.behaviorcep.engine.ActionInput.Matched m) out.collect(CART + " " + m.match().userKey + " " + m.match().anchorId);
                    }).returns(Types.STRING);
            matches.sinkTo(new PeerSink(runId, record)).name("Count matches");
            JobExecutionResult r = env.execute("bench: pattern engine");
            return PeerSink.outcome(runId, r, MemorySource.emitted(eventsId));
        } finally {
            PeerSink.release(runId);
        }
    }

    /** "pattern user anchor": the anchor is the add (one alert per anchor in the job). */
    static final class AnchorOf extends PatternProcessFunction<BehaviorEvent, String> {
        private final String prefix;

        AnchorOf(String patternId) {
            this.prefix = patternId + " ";
        }

        @Override
        public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<String> out) {
            List<BehaviorEvent> added = match.get("added");
            BehaviorEvent anchor = added.get(added.size() - 1);
            out.collect(prefix + anchor.userKey + " " + anchor.messageId);
        }
    }

    // ---- (c) MATCH_RECOGNIZE ------------------------------------------------------------------------

    /**
     * The closest MATCH_RECOGNIZE can say: for each view, the first add by the same user after it
     * within 30 minutes. It cannot say "and then no order for 15 minutes" (a match cannot end in an
     * absence, and nothing fires on a timeout), nor "every add after a view" (the reluctant X*? stops
     * at the first add). Reported as distinct (user, add).
     */
    public static final String SQL = """
            SELECT user_key, add_id FROM events MATCH_RECOGNIZE (
              PARTITION BY user_key
              ORDER BY rowtime
              MEASURES A.message_id AS add_id
              ONE ROW PER MATCH
              AFTER MATCH SKIP TO NEXT ROW
              PATTERN (V X*? A) WITHIN INTERVAL '30' MINUTE
              DEFINE V AS V.event = 'Product Viewed', A AS A.event = 'Product Added'
            )""";

    public static Outcome sql(String eventsId, Settings s, boolean record) throws Exception {
        MemorySource.resetEmitted(eventsId);
        String runId = PeerSink.newRun();
        try {
            StreamExecutionEnvironment env = env(s);
            StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
            DataStream<Row> rows = parsedEvents(env, eventsId, s)
                    .map(e -> Row.of(e.userKey, e.messageId, e.event == null ? "" : e.event))
                    .returns(Types.ROW_NAMED(new String[] {"user_key", "message_id", "event"}, Types.STRING, Types.STRING, Types.STRING))
                    .name("To rows");
            Table events = tEnv.fromDataStream(rows, Schema.newBuilder()
                    .columnByMetadata("rowtime", "TIMESTAMP_LTZ(3)")
                    .watermark("rowtime", "SOURCE_WATERMARK()")
                    .build());
            tEnv.createTemporaryView("events", events);
            Table result = tEnv.sqlQuery(SQL);
            tEnv.toDataStream(result)
                    .map(row -> CART + " " + row.getField(0) + " " + row.getField(1)).returns(Types.STRING).name("To matches")
                    .sinkTo(new PeerSink(runId, record)).name("Count matches");
            JobExecutionResult r = env.execute("bench: MATCH_RECOGNIZE");
            return PeerSink.outcome(runId, r, MemorySource.emitted(eventsId));
        } finally {
            PeerSink.release(runId);
        }
    }

    // ---- (d) hand-written state machine -------------------------------------------------------------

    public static Outcome stateMachine(String eventsId, Settings s, boolean record) throws Exception {
        MemorySource.resetEmitted(eventsId);
        String runId = PeerSink.newRun();
        try {
            StreamExecutionEnvironment env = env(s);
            parsedEvents(env, eventsId, s)
                    .filter(e -> CartAbandonmentStateMachine.kindOf(e) != 0).name("Views, adds, orders")
                    .map(e -> new CartAbandonmentStateMachine.Item(e.timestamp, CartAbandonmentStateMachine.kindOf(e), e.messageId, e.userKey))
                    .returns(CartAbandonmentStateMachine.Item.class).name("To items")
                    .keyBy(item -> item.user).process(new CartAbandonmentStateMachine(CART)).name("State machine")
                    .sinkTo(new PeerSink(runId, record)).name("Count matches");
            JobExecutionResult r = env.execute("bench: state machine");
            return PeerSink.outcome(runId, r, MemorySource.emitted(eventsId));
        } finally {
            PeerSink.release(runId);
        }
    }

    // ---- state size ---------------------------------------------------------------------------------

    /**
     * Runs the job (or plain CEP) over all events, keeps it open (no end-of-input, which would fire
     * every timer and empty the state), takes a canonical savepoint once every event has passed the
     * source, cancels, and returns the savepoint's size in bytes.
     */
    public static long savepointBytes(String dataId, int n, List<PatternDefinition> patterns, Settings s, Path dir, boolean job)
            throws Exception {
        return savepoint(dataId, n, patterns, List.of(), s, dir, job).total();
    }

    /** A canonical savepoint's size, in all and per operator uid (state size as the savepoint's metadata records it). */
    public record StateSize(long total, java.util.Map<String, Long> byUid) {}

    /** The operator uids of the job's graph, by the operator id Flink derives from each (murmur3_128 of the uid). */
    static java.util.Map<org.apache.flink.runtime.jobgraph.OperatorID, String> operatorIds(StreamExecutionEnvironment env) {
        java.util.Map<org.apache.flink.runtime.jobgraph.OperatorID, String> ids = new java.util.HashMap<>();
        for (var node : env.getStreamGraph(false).getStreamNodes()) {
            String uid = node.getTransformationUID();
            if (uid == null) continue;
            byte[] hash = org.apache.flink.shaded.guava33.com.google.common.hash.Hashing.murmur3_128(0)
                    .hashString(uid, java.nio.charset.StandardCharsets.UTF_8).asBytes();
            ids.put(new org.apache.flink.runtime.jobgraph.OperatorID(hash), uid);
        }
        return ids;
    }

    public static StateSize savepoint(String dataId, int n, List<PatternDefinition> patterns, List<io.behaviorcep.pattern.ThresholdSegment> segments,
                                      Settings s, Path dir, boolean job) throws Exception {
        return savepoint(dataId, n, patterns, segments, null, s, dir, job);
    }

    /** @param policy the job's messaging policy file; null: none */
    public static StateSize savepoint(String dataId, int n, List<PatternDefinition> patterns, List<io.behaviorcep.pattern.ThresholdSegment> segments,
                                      Path policy, Settings s, Path dir, boolean job) throws Exception {
        MemorySource.resetEmitted(dataId);
        CountingIO io = job ? new CountingIO(dataId, s.parallelism, 0, true, false, null) : null;
        String runId = job ? null : PeerSink.newRun();
        try {
            StreamExecutionEnvironment env = env(s, dir.resolve("checkpoints"));
            java.util.Map<org.apache.flink.runtime.jobgraph.OperatorID, String> uids = java.util.Map.of();
            if (job) {
                BehaviorCepPipeline.build(env, jobConfig(policy), patterns, segments, io);
                uids = operatorIds(env);
            } else {
                KeyedStream<BehaviorEvent, String> keyed = env.fromSource(MemorySource.create(dataId, s.parallelism, 0, true,
                                        r -> new BehaviorEvent(), TypeInformation.of(BehaviorEvent.class)),
                                WatermarkStrategy.noWatermarks(), "In-memory parsed events")
                        .filter(e -> e.messageId != null)
                        .assignTimestampsAndWatermarks(WatermarkStrategy.<BehaviorEvent>forBoundedOutOfOrderness(OUT_OF_ORDERNESS)
                                .withTimestampAssigner((e, ts) -> e.timestamp))
                        .keyBy(e -> e.userKey);
                AbsenceDeadlineCepOperator.apply(keyed, cartAbandonmentPattern(), new AnchorOf(CART), Types.STRING, null, DEADLINE_AFTER)
                        .sinkTo(new PeerSink(runId, false));
            }
            JobClient client = env.executeAsync("bench: state size");
            try {
                long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
                while (MemorySource.emitted(dataId) < n) {
                    if (System.nanoTime() > deadline) throw new IllegalStateException("the source did not finish");
                    if (client.getJobStatus().get().isTerminalState()) {
                        client.getJobExecutionResult().get();
                        throw new IllegalStateException("the job ended before the savepoint");
                    }
                    Thread.sleep(100);
                }
                Files.createDirectories(dir);
                String path = client.triggerSavepoint(dir.resolve("savepoint").toUri().toString(), SavepointFormatType.CANONICAL).get();
                Path savepoint = Path.of(java.net.URI.create(path.startsWith("file:") ? path : "file:" + path));
                java.util.Map<String, Long> byUid = new java.util.TreeMap<>();
                try (var in = new java.io.DataInputStream(Files.newInputStream(savepoint.resolve("_metadata")))) {
                    var metadata = org.apache.flink.runtime.checkpoint.Checkpoints.loadCheckpointMetadata(in, Contenders.class.getClassLoader(),
                            savepoint.toString());
                    for (var op : metadata.getOperatorStates()) {
                        if (op.getStateSize() == 0) continue;
                        byUid.merge(uids.getOrDefault(op.getOperatorID(), op.getOperatorID().toString()), op.getStateSize(), Long::sum);
                    }
                }
                return new StateSize(sizeOf(savepoint), byUid);
            } finally {
                client.cancel().get();
            }
        } finally {
            if (io != null) io.release();
            if (runId != null) PeerSink.release(runId);
        }
    }

    static long sizeOf(Path p) throws IOException {
        try (Stream<Path> files = Files.walk(p)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    // ---- the peers' sink ----------------------------------------------------------------------------

    /** Counts matches (and keeps the distinct ones when recording); results per run id, same JVM only. */
    public static final class PeerSink implements Sink<String> {
        private static final Map<String, CountingIO.Run> RUNS = new java.util.concurrent.ConcurrentHashMap<>();
        private final String runId;
        private final boolean record;

        PeerSink(String runId, boolean record) {
            this.runId = runId;
            this.record = record;
        }

        static String newRun() {
            String id = java.util.UUID.randomUUID().toString();
            RUNS.put(id, new CountingIO.Run());
            return id;
        }

        static void release(String id) {
            RUNS.remove(id);
        }

        static Outcome outcome(String id, JobExecutionResult r, long emitted) {
            CountingIO.Run run = RUNS.get(id);
            return new Outcome(r.getNetRuntime(), run.alerts.sum(), new java.util.TreeSet<>(run.matches), 0, 0, 0, emitted);
        }

        @Override
        public SinkWriter<String> createWriter(WriterInitContext context) {
            CountingIO.Run run = RUNS.get(runId);
            return new SinkWriter<>() {
                long n;

                @Override
                public void write(String m, Context context) {
                    n++;
                    if (record) run.matches.add(m);
                }

                @Override
                public void flush(boolean endOfInput) {
                    run.alerts.add(n);
                    n = 0;
                }

                @Override
                public void close() {
                    run.alerts.add(n);
                    n = 0;
                }
            };
        }
    }
}
