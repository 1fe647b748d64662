package io.behaviorcep;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.output.Alert;
import io.behaviorcep.action.PatternActionsFunction;
import io.behaviorcep.policy.AlertDecision;
import io.behaviorcep.policy.PolicyDefinition;
import io.behaviorcep.policy.PolicyFile;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.DeadLetterRouter;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.privacy.ControlRecords;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.ingest.IngestFilter;
import io.behaviorcep.identity.IdentityLinks;
import io.behaviorcep.event.KeyedPathHead;
import io.behaviorcep.event.KeyedPathRecords;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.reload.PatternWatcherOperator;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.output.Pseudonymizer;
import io.behaviorcep.profile.ProfileFunction;
import io.behaviorcep.profile.ProfileOptions;
import io.behaviorcep.pattern.TraitDefinition;
import io.behaviorcep.trait.TraitSet;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the job graph from a typed config and a pattern set; connectors come from {@link PipelineIO}.
 *
 * <pre>
 *                                                        ┌─ one chain after one keyBy ───────────────────────────────────────────────────────────┐
 * Kafka source: parse &amp; event time per partition ─┬─ keyBy(user) ─ head ─ dedup &amp; late ─ profile ─ patterns (engine) ─ alerts, caps &amp; segments ─┬─ alerts
 *                     └─ DLQ (also: failed steps,   │                 ↑            └─ late    │          (matches, exits,   (applies changes,         └─ segment updates ─┐
 *                         full buffers, controls)   │                 │                       │           privacy signals,   keeps them in op. state)                   │
 * suppression list (PostgreSQL, no event time) ─────┤                 │                       │           pattern changes)                                              │
 * privacy controls (Kafka, no event time) ─ per id ─┘                 │                       ├─ threshold segment updates ─────────────────────────────────────────────┴─ segment updates
 * pattern changes (watcher, or none: event time only) ─ in-band ─ broadcast                  └─ profiles &amp; erasures (user_profiles)
 * </pre>
 *
 * <p>Pattern changes enter the keyed path at its head, on a broadcast input, and travel from there
 * in-band ({@link KeyedPathRecords}); the profile's privacy signals reach the actions operator through
 * the engine. So every keyed operator has one input, and Flink chains them: no record is serialised
 * between them, and each user's records keep one order.
 *
 * <p>With {@code identity.stitching} (the default), the events pass the identity resolver before the
 * keyBy: keyed by anonymousId (else userId), it links anonymous ids to users and replays an anonymous
 * id's events into its user's timeline ({@link IdentityResolver}, docs/contracts.md "Identity"); the
 * control topic's erasures reach it on a broadcast input.
 *
 * <p>With {@code privacy.pseudonymize}, alerts, segment updates and profile records pass a
 * stateless map that replaces the user id by its HMAC before their sinks.
 *
 * <p>Every stateful operator has a stable uid; they are part of the savepoint contract
 * (docs/contracts.md) and must never change.
 */
public final class BehaviorCepPipeline {
    public static final String UID_SOURCE = "events-source";
    public static final String UID_PARSE = "parse-validate";
    /** Where the keyed events and the pattern changes meet (stateless). */
    public static final String UID_KEYED_HEAD = "keyed-path-head";
    /** Pattern changes turned into records of the keyed path (stateless). */
    public static final String UID_CHANGE_RECORDS = "pattern-change-records";
    public static final String UID_DEDUP = "dedup-late";
    public static final String UID_PROFILE = "user-profile";
    /** The one operator that runs every pattern; its state holds all patterns' partial matches. */
    public static final String UID_PATTERN_ENGINE = "pattern-engine";
    public static final String UID_ACTIONS = "pattern-actions";
    public static final String UID_SUPPRESSION_LIST = "suppression-list-source";
    public static final String UID_PSEUDONYMIZE = "pseudonymize";
    /** The privacy control topic's source, and the parsing of its records (stateless). */
    public static final String UID_CONTROL_SOURCE = "privacy-control-source";
    public static final String UID_CONTROL_PARSE = "privacy-control-parse";
    /** Identity stitching (identity.stitching): links anonymous ids to users before the keyBy. */
    public static final String UID_IDENTITY = "identity-resolver";

    private BehaviorCepPipeline() {}

    /**
     * The engine's name: short and fixed, because Flink puts operator names (cut to 80 characters)
     * into every metric's scope, and a name cannot change while the job runs, while the patterns can.
     */
    public static final String ENGINE_NAME = "Pattern engine";

    /** The engine's description in the web UI: the patterns it ran with at submission, with their versions. */
    static String engineDescription(List<PatternDefinition> patterns) {
        StringBuilder s = new StringBuilder("Every pattern in one operator; at submission (" + patterns.size() + "): ");
        for (int i = 0; i < patterns.size(); i++) {
            if (i > 0) s.append(", ");
            s.append(patterns.get(i).label());
        }
        return s.append(". Changes of a running job are logged and counted per version (pattern.<id>.version.<v>.*).").toString();
    }

    public static void build(StreamExecutionEnvironment env, JobConfig config, List<PatternDefinition> allPatterns, PipelineIO io) {
        build(env, config, allPatterns, List.of(), io);
    }

    /** What the profile operator does, from the config and the threshold segments. */
    public static ProfileOptions profileOptions(JobConfig config, List<ThresholdSegment> segments) {
        return profileOptions(config, segments, List.of());
    }

    /** @param traits the computed traits ({@code kind: traits}), computed in the profile operator */
    public static ProfileOptions profileOptions(JobConfig config, List<ThresholdSegment> segments, List<TraitDefinition> traits) {
        return new ProfileOptions(config.profileRetention(), segments.stream().filter(s -> s.enabled).toList(),
                config.profileWriteInterval(), config.privacyRules(), config.profileMaxBufferedEvents(), config.profileMaxBufferedAtOneInstant(),
                config.profileLifetimeRetention(), new TraitSet(traits));
    }

    /**
     * @param thresholdSegments the segments of {@code segments.yaml} (disabled ones are skipped), decided in the
     *                          profile operator; their updates join the patterns' on {@link PipelineIO#segmentUpdates}
     */
    public static void build(StreamExecutionEnvironment env, JobConfig config, List<PatternDefinition> allPatterns,
                             List<ThresholdSegment> thresholdSegments, PipelineIO io) {
        build(env, config, allPatterns, thresholdSegments, List.of(), io);
    }

    /** @param traits the computed traits of the pattern folder ({@code kind: traits}), kept per user in the profile operator */
    public static void build(StreamExecutionEnvironment env, JobConfig config, List<PatternDefinition> allPatterns,
                             List<ThresholdSegment> thresholdSegments, List<TraitDefinition> traits, PipelineIO io) {
        List<PatternDefinition> patterns = allPatterns.stream().filter(p -> p.enabled).toList();

        // Chained operators may hand records on without Flink's defensive deep copy (one per event
        // per chained hop, ~5% of the job's CPU): every function of this job creates the objects it
        // emits, never changes an object after emitting it, and never changes one it received.
        env.getConfig().enableObjectReuse();

        // parsed and stamped with event time in the source: per Kafka partition (PartitionWatermarks)
        EventIngest ingest = new EventIngest(config.limits(), config.maxOutOfOrderness(), config.idleTimeout(), config.idleAdvance());
        DataStream<ParsedRecord> source = io.events(env, ingest);
        // same parallelism as the source: chained, and each partition's order is kept up to the keyBy
        SingleOutputStreamOperator<BehaviorEvent> parsed = source
                .process(new DeadLetterRouter())
                .setParallelism(source.getParallelism())
                .uid(UID_PARSE).name("Dead letters out");
        DataStream<DeadLetter> deadLetters = parsed.getSideOutput(DeadLetterRouter.DEAD_LETTERS);
        DataStream<BehaviorEvent> timed = io.afterParse(parsed);

        // the suppression list and the operator's privacy controls join the events before they are
        // keyed: their records reach each user's profile without another shuffle (the dedup operator
        // passes them through, never as late), and carry no event time (their sources are idle for good)
        DataStream<BehaviorEvent> list = io.suppressionList(env);
        DataStream<RawRecord> controlRecords = io.controlRecords(env);
        SingleOutputStreamOperator<BehaviorEvent> controls = null;
        if (controlRecords != null) {
            controls = controlRecords
                    .process(new ControlRecords(), TypeInformation.of(BehaviorEvent.class))
                    .setParallelism(controlRecords.getParallelism())
                    .uid(UID_CONTROL_PARSE).name("Privacy controls per id");
            deadLetters = deadLetters.union(controls.getSideOutput(DeadLetterRouter.DEAD_LETTERS));
        }
        DataStream<BehaviorEvent> toDedup = timed;
        if (config.identityStitching()) {
            // keyed by anonymousId (else userId): an anonymous id's events are kept until it is linked,
            // then replayed under the user; erasures reach it on a broadcast input (docs/contracts.md, "Identity")
            // without a control topic (replays, tests) a stream of nothing: stateless, and never part of
            // a running job's savepoint, so it has no uid of the contract
            DataStream<BehaviorEvent> erasures = controls != null ? controls
                    : timed.filter(e -> false).setParallelism(timed.getParallelism()).name("No erasures");
            SingleOutputStreamOperator<BehaviorEvent> resolved = timed
                    .keyBy(IdentityLinks::addressOf)
                    .connect(erasures.broadcast(new org.apache.flink.api.common.state.MapStateDescriptor<?, ?>[0]))
                    .process(new IdentityResolver(config.identityMaxAnonymousEvents(), config.identityAnonymousRetention()),
                            TypeInformation.of(BehaviorEvent.class))
                    .uid(UID_IDENTITY).name("Identity resolver");
            deadLetters = deadLetters.union(resolved.getSideOutput(IdentityResolver.FAILED));
            toDedup = resolved;
        }
        if (list != null) toDedup = toDedup.union(list);
        if (controls != null) toDedup = toDedup.union(controls);
        // pattern changes of a running job (patterns.watch): they join the keyed path at its head, on a
        // broadcast input, and travel in-band from there (KeyedPathRecords); without watching, a stream
        // of no changes that only carries the events' event time
        SingleOutputStreamOperator<PatternChange> changeStream = PatternWatcherOperator.attach(timed, config, allPatterns);
        if (config.patternsWatch()) io.patternEvents(changeStream.getSideOutput(PatternWatcherOperator.PATTERN_EVENTS));
        BroadcastStream<BehaviorEvent> changes = changeStream
                .map(PatternChange::toRecord).returns(BehaviorEvent.class).setParallelism(changeStream.getParallelism())
                .uid(UID_CHANGE_RECORDS).name("Pattern changes in-band")
                .broadcast(new org.apache.flink.api.common.state.MapStateDescriptor<?, ?>[0]); // no broadcast state: the head keeps nothing

        // One keyBy, then one chain: head, dedup, profile, engine and actions run on the same subtask,
        // hand records on without serialising them, and see each user's records in one order.
        SingleOutputStreamOperator<BehaviorEvent> head = toDedup
                .keyBy(e -> e.userKey)
                .connect(changes)
                .process(new KeyedPathHead(), TypeInformation.of(BehaviorEvent.class))
                .uid(UID_KEYED_HEAD).name("Keyed path in");
        SingleOutputStreamOperator<BehaviorEvent> fresh = keyed(head)
                .process(new IngestFilter(config.dedupTtl(), config.privacyRules().erasureEvent(), config.lateWarningShare(),
                        config.dedupMaxIdsPerUser()))
                .uid(UID_DEDUP).name("Dedup & late routing");

        List<DataStream<BehaviorEvent>> late = new ArrayList<>();
        late.add(fresh.getSideOutput(IngestFilter.LATE));

        SingleOutputStreamOperator<BehaviorEvent> profileOperator = keyed(fresh)
                .process(new ProfileFunction(profileOptions(config, thresholdSegments, traits)))
                .uid(UID_PROFILE).name("User profile");
        // valid events refused past a user's buffer bound, and those that made a keyed step throw
        // (PROCESSING_FAILED), join the parse step's dead letters: one DLQ sink, written once at the end
        deadLetters = deadLetters.union(profileOperator.getSideOutput(ProfileFunction.BUFFER_FULL),
                fresh.getSideOutput(IngestFilter.FAILED), profileOperator.getSideOutput(ProfileFunction.FAILED));
        // outputs carry HMAC-SHA256(user id) instead of the id; the key is read on the task managers
        String pseudonymKey = config.pseudonymize() ? config.pseudonymKeyEnv() : null;
        DataStream<ProfileRecord> profileRecords = profileOperator.getSideOutput(ProfileFunction.PROFILE_RECORDS);
        io.profileRecords(pseudonymKey == null ? profileRecords
                : profileRecords.map(Pseudonymizer.profileRecords(pseudonymKey)).returns(ProfileRecord.class)
                        .uid(UID_PSEUDONYMIZE + "-profiles").name("Pseudonymise profiles"));
        DataStream<SegmentUpdate> thresholdUpdates = profileOperator.getSideOutput(ProfileFunction.THRESHOLD_UPDATES);

        // always there, even with no pattern yet: patterns may be added while the job runs. Every
        // pattern in one operator: each event is evaluated once by every pattern that can use it,
        // against one state value per user (see PatternEngineFunction)
        PatternEngineFunction patternEngine = new PatternEngineFunction(allPatterns).erasingOn(config.privacyRules().erasureEvent())
                .boundingRunsAt(config.maxRunsPerUserPattern());
        // in BATCH, Flink's sort in front of the engine loses the order of a user's events of one instant
        if (io.batchExecution()) patternEngine.orderingInstantsByMessageId();
        SingleOutputStreamOperator<ActionInput> engine = keyed(profileOperator)
                .process(patternEngine, TypeInformation.of(ActionInput.class))
                .uid(UID_PATTERN_ENGINE).name(ENGINE_NAME).setDescription(engineDescription(patterns));
        late.add(engine.getSideOutput(PatternEngineFunction.LATE));
        deadLetters = deadLetters.union(engine.getSideOutput(PatternEngineFunction.FAILED));
        io.lateEvents(late.get(0).union(late.get(1)));

        // matches, segment exits, the profile's privacy signals and the pattern changes, in-band
        SingleOutputStreamOperator<Alert> alerts = DataStreamUtils.reinterpretAsKeyedStream(engine, ActionInput::userKey, Types.STRING)
                .process(new PatternActionsFunction(allPatterns).withPolicy(policy(config)).withExperiments(config.experiments()), TypeInformation.of(Alert.class))
                .uid(UID_ACTIONS).name("Alerts, caps & segments");
        // the messaging policy's decisions (issue #19): pseudonymised like the alerts they refer to
        DataStream<AlertDecision> alertDecisions = alerts.getSideOutput(PatternActionsFunction.ALERT_DECISIONS);
        io.alertDecisions(pseudonymKey == null ? alertDecisions
                : alertDecisions.map(Pseudonymizer.alertDecisions(pseudonymKey)).returns(AlertDecision.class)
                        .uid(UID_PSEUDONYMIZE + "-alert-decisions").name("Pseudonymise alert decisions"));
        io.alerts(pseudonymKey == null ? alerts
                : alerts.map(Pseudonymizer.alerts(pseudonymKey)).returns(Alert.class).uid(UID_PSEUDONYMIZE + "-alerts").name("Pseudonymise alerts"));
        DataStream<io.behaviorcep.experiment.Outcome> outcomes = alerts.getSideOutput(PatternActionsFunction.OUTCOMES);
        io.outcomes(pseudonymKey == null ? outcomes
                : outcomes.map(Pseudonymizer.outcomes(pseudonymKey)).returns(io.behaviorcep.experiment.Outcome.class)
                        .uid(UID_PSEUDONYMIZE + "-outcomes").name("Pseudonymise outcomes"));
        DataStream<SegmentUpdate> segments = alerts.getSideOutput(PatternActionsFunction.SEGMENT_UPDATES);
        // a job that watches its folder may be given threshold segments while it runs
        if (!thresholdSegments.isEmpty() || config.patternsWatch()) segments = segments.union(thresholdUpdates);
        io.segmentUpdates(pseudonymized(segments, pseudonymKey));
        io.deadLetters(deadLetters.union(alerts.getSideOutput(PatternActionsFunction.FAILED)));
    }

    /** The messaging policy of {@code policy.file}, read at submission; null when there is none. */
    public static PolicyDefinition policy(JobConfig config) {
        java.nio.file.Path file = config.policyPath();
        return file == null ? null : PolicyFile.read(file).orThrow();
    }

    /** The same key on the same subtask: no shuffle, so the next operator chains to this one. */
    private static KeyedStream<BehaviorEvent, String> keyed(DataStream<BehaviorEvent> stream) {
        return DataStreamUtils.reinterpretAsKeyedStream(stream, e -> e.userKey);
    }

    private static DataStream<SegmentUpdate> pseudonymized(DataStream<SegmentUpdate> updates, String keyEnv) {
        if (keyEnv == null) return updates;
        return updates.map(Pseudonymizer.segmentUpdates(keyEnv)).returns(SegmentUpdate.class)
                .uid(UID_PSEUDONYMIZE + "-segments").name("Pseudonymise segment updates");
    }

    /** Exactly-once checkpointing as the job needs it; cluster-wide settings (state backend, storage) stay with the cluster. */
    public static void configureCheckpointing(StreamExecutionEnvironment env, JobConfig config) {
        configureCheckpointing(env, config.checkpointInterval());
        // below the Kafka transaction timeout (JobConfig checks it): Flink's default (10 min) equals the
        // default transaction timeout, and a transaction the broker aborts first loses its output
        env.getCheckpointConfig().setCheckpointTimeout(config.checkpointTimeout().toMillis());
    }

    public static void configureCheckpointing(StreamExecutionEnvironment env, Duration interval) {
        env.enableCheckpointing(interval.toMillis(), org.apache.flink.core.execution.CheckpointingMode.EXACTLY_ONCE);
        env.getCheckpointConfig().setMinPauseBetweenCheckpoints(Math.min(interval.toMillis() / 2, 5_000));
        env.getCheckpointConfig().setTolerableCheckpointFailureNumber(3);
    }
}
