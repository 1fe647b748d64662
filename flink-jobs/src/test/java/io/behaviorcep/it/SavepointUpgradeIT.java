package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.output.Alert;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.HeldSource;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testkit.InMemoryIO;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.min;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.track;
import static io.behaviorcep.testing.Events.viewed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A savepoint upgrade of the production job graph with another pattern set (issue #5, "Upgrades"):
 * a job with {cart-abandonment, checkout-abandonment, high-intent-burst} is stopped with a savepoint
 * while carts are open, and a job with {cart-abandonment (unchanged), dormancy-14d (added)} and
 * checkout-abandonment removed starts from it, WITHOUT allowNonRestoredState: every pattern's state is
 * in the one engine operator (uid {@code pattern-engine}), so the set of operators does not change.
 */
class SavepointUpgradeIT {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path savepoints;

    /** The in-memory sinks around a source the test feeds and holds. */
    static final class HeldIO extends InMemoryIO {
        final HeldSource source = new HeldSource(UUID.randomUUID().toString());

        HeldIO() {
            super(List.of());
        }

        @Override
        public DataStream<ParsedRecord> events(StreamExecutionEnvironment env, EventIngest ingest) {
            return ingest.afterSource(env.fromSource(source, WatermarkStrategy.noWatermarks(), "Held events", TypeInformation.of(RawRecord.class))
                    .setParallelism(1).uid("in-memory-source").name("Held events"), "in-memory");
        }

        void send(ObjectNode... events) {
            List<byte[]> out = new ArrayList<>();
            for (ObjectNode e : events) out.add(e.toString().getBytes(StandardCharsets.UTF_8));
            source.send(out);
        }
    }

    private static JobClient start(List<PatternDefinition> patterns, HeldIO io, String savepoint) throws Exception {
        return start(Pipelines.testConfig(), patterns, io, savepoint, false);
    }

    private static JobClient start(JobConfig config, List<PatternDefinition> patterns, HeldIO io, String savepoint,
                                   boolean allowNonRestoredState) throws Exception {
        StreamExecutionEnvironment env = Pipelines.env(2);
        BehaviorCepPipeline.build(env, config, patterns, io);
        StreamGraph graph = env.getStreamGraph();
        // false: Flink refuses to start if any state of the savepoint has no operator to go to
        graph.setSavepointRestoreSettings(savepoint == null ? SavepointRestoreSettings.none()
                : SavepointRestoreSettings.forPath(savepoint, allowNonRestoredState));
        return env.executeAsync(graph);
    }

    private static final String KEY_PROPERTY = "BEHAVIOR_CEP_UPGRADE_IT_KEY";

    private static JobConfig config(boolean pseudonymize, Path watchedFolder) {
        Map<String, String> m = new HashMap<>(Map.of("kafka.bootstrap-servers", "unused:9092", "events.max-out-of-orderness", "1m",
                "events.idle-advance", "false"));
        if (pseudonymize) {
            m.put("privacy.pseudonymize", "true");
            m.put("privacy.pseudonym-key-env", KEY_PROPERTY);
        }
        if (watchedFolder != null) {
            m.put("patterns.watch", "true");
            m.put("patterns.dir", watchedFolder.toString());
        }
        return JobConfig.of(m);
    }

    /** Starts a job from a savepoint and waits for it to process an event (a cart alert), then stops it with a savepoint. */
    private String restoresAndRuns(JobConfig config, String savepoint, boolean allowNonRestoredState, String user) throws Exception {
        HeldIO io = new HeldIO();
        JobClient job = start(config, List.of(Repo.pattern("cart-abandonment")), io, savepoint, allowNonRestoredState);
        io.send(viewed(user, min(-60)), added(user, min(-59)), page(user, min(0)));
        Await.until("an alert of the restored job", WAIT, () -> !io.alerts().isEmpty());
        Await.until("the source to hand over everything", WAIT, io.source::drained);
        String next = job.stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL).get();
        io.clear();
        return next;
    }

    /** The reason Flink refuses to start a job from a savepoint (without allowNonRestoredState), or null when it starts and runs. */
    private String refusal(JobConfig config, String savepoint) throws Exception {
        HeldIO io = new HeldIO();
        JobClient job = start(config, List.of(Repo.pattern("cart-abandonment")), io, savepoint, false);
        io.send(viewed("r", min(-60)), added("r", min(-59)), page("r", min(0)));
        Await.until("the job to fail or to run", WAIT,
                () -> job.getJobStatus().get() == JobStatus.FAILED || !io.alerts().isEmpty());
        if (!io.alerts().isEmpty()) {
            job.cancel().get();
            io.clear();
            return null;
        }
        try {
            job.getJobExecutionResult().get();
            throw new AssertionError("a failed job has a result");
        } catch (ExecutionException e) {
            StringBuilder all = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) all.append(t.getMessage()).append('\n');
            return all.toString();
        }
    }

    @Test
    void switchingPseudonymisationOrTurningTheWatcherOnIsFreeButDroppingTheWatcherNeedsAllowNonRestoredState(@TempDir Path folder) throws Exception {
        System.setProperty(KEY_PROPERTY, "upgrade-it-secret");
        Files.copy(Repo.patterns().resolve("cart-abandonment.yaml"), folder.resolve("cart-abandonment.yaml"));
        String pseudonymisedAndWatched = restoresAndRuns(config(true, folder), null, false, "u1");
        // the pseudonymising maps are stateless: a savepoint has no state for them, nothing to drop
        String watched = restoresAndRuns(config(false, folder), pseudonymisedAndWatched, false, "u2");
        // the pattern watcher keeps the accepted patterns in operator state: a job without it must be told to drop it
        assertThat(refusal(config(false, null), watched)).contains("Cannot map checkpoint/savepoint state")
                .contains("allowNonRestoredState");
        String unwatched = restoresAndRuns(config(false, null), watched, true, "u3");
        // and back: the not-watched change source finished at once, its finished state is nothing to drop
        assertThat(refusal(config(false, folder), unwatched)).as("watch off -> on without allowNonRestoredState").isNull();
    }

    private static List<String> alerts(InMemoryIO io, String type) {
        return io.alerts().stream().filter(a -> a.alertType.equals(type)).map(a -> a.userId).sorted().collect(Collectors.toList());
    }

    private static Optional<Alert> alert(InMemoryIO io, String type, String user) {
        return io.alerts().stream().filter(a -> a.alertType.equals(type) && a.userId.equals(user)).findFirst();
    }

    private static ObjectNode checkout(String user, Instant at) {
        return track(user, "Checkout Started", at);
    }

    @Test
    void openMatchesAndProfilesSurviveAnUpgradeThatAddsAndRemovesPatternsWithoutAllowNonRestoredState() throws Exception {
        HeldIO before = new HeldIO();
        JobClient first = start(List.of(Repo.pattern("cart-abandonment"), Repo.pattern("checkout-abandonment"),
                Repo.pattern("high-intent-burst")), before, null);
        before.send(
                // a cart abandoned well before: its alert in the first job shows the engine has seen everything up to its deadline
                viewed("early", min(-60)), added("early", min(-59)),
                // three pages, then open carts (view + add, deadline 16m, not reached before the savepoint)
                page("open-1", min(-20)), page("open-1", min(-19)), page("open-1", min(-18)),
                viewed("open-1", min(0)), added("open-1", min(1)),
                viewed("open-2", min(0)), added("open-2", min(1)),
                // an open checkout (deadline 30m) of the pattern the upgrade removes
                checkout("checkout-old", min(0)),
                // a user on both sides of the savepoint; its event moves the watermark to about 2m
                page("both", min(3)));
        Await.until("the early cart's alert in the first job", WAIT, () -> !alerts(before, "cart_abandoned").isEmpty());
        Await.until("the source to hand over everything", WAIT, before.source::drained);
        assertThat(alerts(before, "cart_abandoned")).containsExactly("early");
        assertThat(before.alerts()).noneMatch(a -> a.userId.startsWith("open-") || a.userId.equals("checkout-old"));

        // no drain: no end-of-time watermark, the open carts stay open in the savepoint
        String savepoint = first.stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                .get();
        assertThat(first.getJobStatus().get()).isEqualTo(JobStatus.FINISHED);
        assertThat(before.alerts()).noneMatch(a -> a.userId.startsWith("open-"));

        HeldIO after = new HeldIO();
        JobClient second = start(List.of(Repo.pattern("cart-abandonment"), Repo.pattern("dormancy-14d")), after, savepoint);
        after.send(
                checkout("checkout-new", min(5)),   // checkout-abandonment is gone: must not start a match
                page("newcomer", min(10)),           // dormancy-14d (added) starts with events after the restore
                page("both", min(20)));              // watermark about 19m: past the open carts' deadline (16m)
        // the open carts complete in the restored job, while it runs, from the savepoint's partial matches alone
        Await.until("the open carts' alerts after the restore", WAIT,
                () -> alerts(after, "cart_abandoned").size() >= 2);
        assertThat(alerts(after, "cart_abandoned")).containsExactly("open-1", "open-2");
        Alert open1 = alert(after, "cart_abandoned", "open-1").orElseThrow();
        assertThat(open1.detectedAt).isEqualTo(min(16).toEpochMilli());
        // the profile came through the savepoint: the 5 events of before, none after
        assertThat(open1.profile.eventsLifetime).isEqualTo(5);
        assertThat(open1.profile.pageViewsLifetime).isEqualTo(3);
        assertThat(open1.profile.firstSeen).isEqualTo(min(-20).toEpochMilli());

        after.send(page("both", min(40)));   // watermark about 39m: past both checkouts' deadlines (30m, 35m)
        // the removed pattern's open match drains (its on_change is the default, drain) ...
        Await.until("the removed pattern's open checkout to drain", WAIT,
                () -> !alerts(after, "checkout_abandoned").isEmpty());
        after.send(page("both", min(41)));
        after.source.end();
        second.getJobExecutionResult().get();

        // ... and nothing new starts on it
        assertThat(alerts(after, "checkout_abandoned")).containsExactly("checkout-old");
        assertThat(after.alerts()).noneMatch(a -> a.userId.equals("early"));   // no alert twice
        // the added pattern works on events after the restore, and only on them (it starts fresh)
        Map<String, Long> dormant = after.segments().stream()
                .filter(u -> u.segment.equals("dormant") && u.action.equals(SegmentUpdate.ENTER))
                .collect(Collectors.toMap(u -> u.userId, u -> u.at));
        assertThat(dormant).containsOnlyKeys("newcomer", "checkout-new", "both");
        assertThat(dormant.get("newcomer")).isEqualTo(min(10).plus(Duration.ofDays(14)).toEpochMilli());
        assertThat(dormant.get("both")).isEqualTo(min(41).plus(Duration.ofDays(14)).toEpochMilli());
        // a profile counts the events of both jobs
        ProfileRecord both = after.profileRecords().stream()
                .filter(r -> r.userId.equals("both") && !r.isErasure())
                .max((a, b) -> Long.compare(a.profile.eventsLifetime, b.profile.eventsLifetime)).orElseThrow();
        assertThat(both.profile.eventsLifetime).isEqualTo(4);
        assertThat(both.profile.firstSeen).isEqualTo(min(3).toEpochMilli());
        before.clear();
        after.clear();
    }
}
