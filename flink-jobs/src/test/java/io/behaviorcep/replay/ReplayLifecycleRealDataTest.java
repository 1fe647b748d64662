package io.behaviorcep.replay;

import io.behaviorcep.cli.ReplayCommand;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The lifecycle past {@code profile.retention} on a real shop log: the Taobao log of whole 9-day
 * histories, replayed with the shipped {@code segments.yaml} on a scale the log can show: a retention
 * of one day (users who pause longer are dropped from the full profile, as the shipped 90 days drop
 * a shop's returning customers) and {@code churned} after 2 days instead of 30. {@code new} is the
 * shipped one (first seen less than 7 days ago).
 *
 * <p>Who is {@code new} and who is {@code churned} at the end of the log is computed here, from the
 * raw rows (first and last event per user), and compared with the members the replay decided by
 * then. A job that forgot users at the retention would count users back after a pause as new again
 * and drop the churned from {@code churned} a day after their last event. Skipped where the data is
 * absent (a user's clone).
 */
class ReplayLifecycleRealDataTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final long DAY = 24 * 3_600_000L;
    static final int CHURNED_DAYS = 2;

    @Test
    void newAndChurnedAtTheEndOfARealLogAreWhatItsFirstAndLastEventsSay(@TempDir Path work) throws Exception {
        Path file = ReplayRealDataTest.DATA.resolve("taobao_userbehavior_byuser/UserBehavior.csv");
        assumeTrue(Files.isRegularFile(file), "real-data tier skipped: " + file + " is absent (../shared/data is beside the project in CI only)");

        Path patterns = Files.createDirectories(work.resolve("patterns"));
        String shipped = Files.readString(Repo.patterns().resolve("segments.yaml"));
        String scaled = shipped.replace("when: profile.days_since_last_seen >= 30", "when: profile.days_since_last_seen >= " + CHURNED_DAYS)
                .replaceAll("(?s)\nexamples:.*", "\n");
        assertThat(scaled).as("the shipped churned is scaled").contains("days_since_last_seen >= " + CHURNED_DAYS)
                .contains("when: profile.days_since_first_seen < 7");
        Files.writeString(patterns.resolve("segments.yaml"), scaled);

        Path out = work.resolve("out");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int exit = new CommandLine(new ReplayCommand(new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8)))
                .execute("--events", file.toString(), "--events-format", "taobao", "--patterns", patterns.toString(),
                        "--out", out.toString(), "--parallelism", "2", "--progress", "lines",
                        "--profile.retention", "1d", "--profile.lifetime-retention", "30d");
        System.out.println(stdout.toString(StandardCharsets.UTF_8));
        assertThat(exit).as(stderr.toString(StandardCharsets.UTF_8)).isZero();

        // independent: each user's first and last event in the raw rows, and the log's last event
        ReplayRealDataTest.Oracle o = new ReplayRealDataTest.Oracle(Files.readAllLines(file, StandardCharsets.UTF_8), false);
        Set<String> expectedNew = new TreeSet<>();
        Set<String> expectedChurned = new TreeSet<>();
        int pausedLongerThanTheRetention = 0;
        // churned entered after every pause of more than 2 days (and at the end if the log ends 2 days after the user's
        // last event), left on the next event: a pause is a user who is gone past the retention
        long churnedEnters = 0;
        long churnedExits = 0;
        for (var u : o.users.entrySet()) {
            List<ReplayRealDataTest.Oracle.Ev> evs = u.getValue();
            long first = evs.get(0).ts();
            long last = evs.get(evs.size() - 1).ts();
            if (Math.floorDiv(o.horizon - first, DAY) < 7) expectedNew.add(u.getKey());
            if (Math.floorDiv(o.horizon - last, DAY) >= CHURNED_DAYS) expectedChurned.add(u.getKey());
            for (int i = 1; i < evs.size(); i++) {
                if (evs.get(i).ts() - evs.get(i - 1).ts() > DAY + 3_600_000L) {
                    pausedLongerThanTheRetention++;
                    break;
                }
            }
            for (int i = 1; i < evs.size(); i++) {
                if (evs.get(i).ts() - evs.get(i - 1).ts() > CHURNED_DAYS * DAY) {
                    churnedEnters++;
                    churnedExits++;
                }
            }
            if (o.horizon - last >= CHURNED_DAYS * DAY) churnedEnters++;
        }
        // the log must be able to show the difference: users who came back after more than the retention
        assertThat(pausedLongerThanTheRetention).as("users back after a pause longer than the retention").isGreaterThan(5);
        assertThat(expectedChurned).as("users gone for 2 days at the end").isNotEmpty();

        // the replay: members at the end = the latest decided update per user and segment is an entry
        Map<String, Map<String, String>> latest = new HashMap<>();
        for (String l : Files.readAllLines(out.resolve("segments.jsonl"), StandardCharsets.UTF_8)) {
            if (l.isBlank()) continue;
            JsonNode u = OutputJson.MAPPER.readTree(l);
            latest.computeIfAbsent(u.get("segment").asText(), k -> new HashMap<>()).put(u.get("user_id").asText(), u.get("action").asText());
        }
        assertThat(members(latest, "new")).as("new at the end").isEqualTo(expectedNew);
        assertThat(members(latest, "churned")).as("churned at the end").isEqualTo(expectedChurned);

        JsonNode summary = OutputJson.MAPPER.readTree(out.resolve("summary.json").toFile());
        assertThat(summary.at("/segments/new/members_at_end").asLong()).isEqualTo(expectedNew.size());
        assertThat(summary.at("/segments/churned/members_at_end").asLong()).isEqualTo(expectedChurned.size());
        assertThat(churnedEnters).as("pauses of more than 2 days in the log").isGreaterThan(20);
        assertThat(summary.at("/segments/churned/enters").asLong()).as("churned entries").isEqualTo(churnedEnters);
        assertThat(summary.at("/segments/churned/exits").asLong()).as("churned exits").isEqualTo(churnedExits);
        assertThat(Files.readAllLines(out.resolve("segments.jsonl"), StandardCharsets.UTF_8)).as("no membership ends for want of state")
                .noneMatch(l -> l.contains("\"reason\":\"ttl\"") && (l.contains("\"segment\":\"churned\"") || l.contains("\"segment\":\"new\"")));
        // churned: every user either enters it after the end or stays in it until the lifetime retention, each counted once
        assertThat(summary.at("/segments/churned/pending").asLong()).isEqualTo(o.users.size());
        assertThat(summary.at("/segments/new/pending").asLong()).isEqualTo(expectedNew.size());
        System.out.printf(Locale.ROOT, "lifecycle on %s: %d users, %d back after more than the retention; new at the end %d, churned %d; "
                + "churned entered %d times, left %d times (replay and independent computation agree)%n", file.getFileName(), o.users.size(),
                pausedLongerThanTheRetention, expectedNew.size(), expectedChurned.size(), churnedEnters, churnedExits);
    }

    private static Set<String> members(Map<String, Map<String, String>> latest, String segment) {
        Set<String> in = new TreeSet<>();
        latest.getOrDefault(segment, Map.of()).forEach((user, action) -> {
            if (action.equals("enter")) in.add(user);
        });
        return in;
    }
}
