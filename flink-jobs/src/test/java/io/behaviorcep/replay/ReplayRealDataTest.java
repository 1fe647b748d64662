package io.behaviorcep.replay;

import io.behaviorcep.cli.ReplayCommand;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real-data tier: the three public shop logs in {@code ../shared/data} (never copied into the
 * project), replayed with {@code replay} and the shipped patterns, checked against an independent
 * computation written here: a plain loop over each user's sorted events, with no Flink and no
 * code of the job. Skipped where the data is absent (a user's clone).
 *
 * <p>What is checked, per log: cart abandonment (alerts, and the {@code cart_abandoners} segment
 * with its exits on orders and its 7-day TTL), checkout abandonment (the logs have no checkouts:
 * nothing, and nothing pending), high-intent bursts (the {@code high_intent_shoppers} segment),
 * and dormancy: the shipped 14 days are longer than every log, so all of it is pending, one per
 * user; a 30-minute variant of the same file (added here) has decided entries, exits and
 * reactivation alerts to compare.
 *
 * <p>The independent computation states the semantics of docs/pattern-language.md directly. Per
 * user, events are ordered by time, then messageId (rows with the same content are one event).
 * Actions are applied in time order, exits before entries at the same instant, and only what
 * happens at or before the last event of the log counts (the rest is pending).
 */
class ReplayRealDataTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final Path DATA = Repo.root().resolve("../shared/data").normalize();
    static final long MIN = 60_000L;
    static final long HOUR = 60 * MIN;
    static final long DAY = 24 * HOUR;
    private static final List<String> FIGURES = new ArrayList<>();
    private static final long STARTED = System.nanoTime();

    @TempDir
    static Path work;

    @AfterAll
    static void printFigures() {
        if (FIGURES.isEmpty()) return;
        System.out.println("\n=== replay on the real logs: agreement with the independent computation ===");
        FIGURES.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "real-data tier: %.1f s%n", (System.nanoTime() - STARTED) / 1e9);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "rees46_multicategory_2019oct_prefix/2019-Oct.csv",
        "taobao_userbehavior_byuser/UserBehavior.csv",
        "taobao_userbehavior_prefix/UserBehavior.csv"})
    void replayAgreesWithAnIndependentComputation(String log) throws Exception {
        Path file = DATA.resolve(log);
        assumeTrue(Files.isRegularFile(file), "real-data tier skipped: " + file + " is absent (../shared/data is beside the project in CI only)");
        boolean rees46 = log.startsWith("rees46");
        String name = log.substring(0, log.indexOf('/'));

        // the shipped patterns, plus a 30-minute dormancy that the logs are long enough to decide; the threshold
        // segments (segments.yaml) are left out: they are not checked here, and without them the replay runs in
        // batch execution, the mode for history of any size (ReplayRunnerTest covers them)
        Path patterns = Files.createDirectories(work.resolve(name + "-patterns"));
        try (var shipped = Files.list(Repo.patterns())) {
            for (Path p : shipped.toList()) {
                if (!PatternLoader.SEGMENTS_FILE_NAMES.contains(p.getFileName().toString())) Files.copy(p, patterns.resolve(p.getFileName()));
            }
        }
        Files.writeString(patterns.resolve("dormancy-30m.yaml"), Files.readString(Repo.patterns().resolve("dormancy-14d.yaml"))
                .replace("id: dormancy-14d", "id: dormancy-30m").replace("for: 14d", "for: 30m")
                .replace("name: dormant", "name: dormant_30m").replaceAll("(?s)\nexamples:.*", "\n"));

        Path out = work.resolve(name + "-out");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int exit = new CommandLine(new ReplayCommand(new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8)))
                .execute("--events", file.toString(), "--events-format", rees46 ? "rees46" : "taobao", "--patterns", patterns.toString(),
                        "--out", out.toString(), "--parallelism", "2", "--progress", "lines");
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.println(stdout.toString(StandardCharsets.UTF_8));
        assertThat(exit).as(stderr.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("events read");
        assertThat(stdout.toString(StandardCharsets.UTF_8)).contains("(batch, parallelism 2)");

        List<JsonNode> alerts = jsonLines(out.resolve("alerts.jsonl"));
        List<JsonNode> segments = jsonLines(out.resolve("segments.jsonl"));
        JsonNode summary = OutputJson.MAPPER.readTree(out.resolve("summary.json").toFile());

        Oracle o = new Oracle(Files.readAllLines(file, StandardCharsets.UTF_8), rees46);
        assertThat(summary.at("/input/horizon").asText()).isEqualTo(Instant.ofEpochMilli(o.horizon).toString());
        assertThat(summary.at("/input/events").asLong()).as("events that parse").isEqualTo(o.validRows);

        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "%s: %,d rows, %,d users, %s .. %s; replay %.1f s, %,d events/s (%s)", name, o.rows,
                o.users.size(), Instant.ofEpochMilli(o.first), Instant.ofEpochMilli(o.horizon), seconds,
                summary.at("/run/events_per_second").asLong(), summary.at("/run/mode").asText()));

        // cart abandonment: alerts (user, time, the add), and the segment's enters and exits
        Oracle.Result cart = o.cartAbandonment();
        lines.add(agree("cart-abandonment alerts", cart.alerts, alertKeys(alerts, "cart-abandonment", "added")));
        lines.add(agree("cart_abandoners updates", cart.updates, updateKeys(segments, "cart_abandoners")));
        assertThat(summary.at("/patterns/cart-abandonment/pending").asLong()).as("cart-abandonment pending").isEqualTo(cart.pending);
        assertThat(summary.at("/segments/cart_abandoners/members_at_end").asLong()).isEqualTo(cart.membersAtEnd);
        assertThat(summary.at("/patterns/cart-abandonment/users").asLong()).isEqualTo(cart.users.size());

        // checkout abandonment: the logs have no checkouts
        assertThat(o.count("Checkout Started")).isZero();
        assertThat(alertKeys(alerts, "checkout-abandonment", "checkout")).isEmpty();
        assertThat(summary.at("/patterns/checkout-abandonment/pending").asLong()).isZero();
        lines.add("  checkout-abandonment: no Checkout Started in the log; replay: 0 alerts, 0 pending");

        // high-intent bursts
        Oracle.Result burst = o.highIntentBursts();
        lines.add(agree("high_intent_shoppers updates", burst.updates, updateKeys(segments, "high_intent_shoppers")));
        assertThat(summary.at("/segments/high_intent_shoppers/members_at_end").asLong()).isEqualTo(burst.membersAtEnd);

        // dormancy: 14 days is longer than the log, so every user's last event leaves one match pending
        Oracle.Result dormant14 = o.dormancy(14 * DAY, "dormancy-14d", "dormant");
        assertThat(dormant14.updates).isEmpty();
        assertThat(updateKeys(segments, "dormant")).isEmpty();
        assertThat(summary.at("/patterns/dormancy-14d/pending").asLong()).isEqualTo(dormant14.pending).isEqualTo(o.users.size());
        lines.add(String.format(Locale.ROOT, "  dormancy-14d: nothing decided in a log of %s; pending: replay %,d, independent %,d (one per user)",
                ReplayProgress.duration(o.horizon - o.first), summary.at("/patterns/dormancy-14d/pending").asLong(), dormant14.pending));
        Oracle.Result dormant30 = o.dormancy(30 * MIN, "dormancy-30m", "dormant_30m");
        lines.add(agree("dormant_30m updates", dormant30.updates, updateKeys(segments, "dormant_30m")));
        lines.add(agree("dormancy-30m reactivated alerts", dormant30.alerts, alertKeys(alerts, "dormancy-30m", "exit")));
        assertThat(summary.at("/patterns/dormancy-30m/pending").asLong()).isEqualTo(dormant30.pending);
        assertThat(summary.at("/segments/dormant_30m/members_at_end").asLong()).isEqualTo(dormant30.membersAtEnd);
        lines.add(String.format(Locale.ROOT, "  members at the end: cart_abandoners %,d, high_intent_shoppers %,d, dormant_30m %,d (replay = independent)",
                cart.membersAtEnd, burst.membersAtEnd, dormant30.membersAtEnd));

        synchronized (FIGURES) {
            FIGURES.addAll(lines);
        }
        lines.forEach(System.out::println);

        assertThat(alertKeys(alerts, "cart-abandonment", "added")).isEqualTo(cart.alerts);
        assertThat(updateKeys(segments, "cart_abandoners")).isEqualTo(cart.updates);
        assertThat(updateKeys(segments, "high_intent_shoppers")).isEqualTo(burst.updates);
        assertThat(updateKeys(segments, "dormant_30m")).isEqualTo(dormant30.updates);
        assertThat(alertKeys(alerts, "dormancy-30m", "exit")).isEqualTo(dormant30.alerts);
        // not vacuous: each log exercises the checks
        assertThat(cart.alerts).isNotEmpty();
        assertThat(dormant30.updates).isNotEmpty();
    }

    private static String agree(String what, Set<String> independent, Set<String> replay) {
        Set<String> both = new TreeSet<>(independent);
        both.retainAll(replay);
        Set<String> all = new HashSet<>(independent);
        all.addAll(replay);
        int union = all.size();
        return String.format(Locale.ROOT, "  %-32s replay %,6d  independent %,6d  agree %,6d  (%.1f%%)", what + ":", replay.size(),
                independent.size(), both.size(), union == 0 ? 100.0 : 100.0 * both.size() / union);
    }

    private static List<JsonNode> jsonLines(Path f) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) if (!l.isBlank()) out.add(OutputJson.MAPPER.readTree(l));
        return out;
    }

    /** "user@time@messageId of the step's last event" for the pattern's alerts. */
    private static Set<String> alertKeys(List<JsonNode> alerts, String pattern, String step) {
        Set<String> out = new TreeSet<>();
        for (JsonNode a : alerts) {
            if (!a.get("pattern_id").asText().equals(pattern)) continue;
            JsonNode bound = a.get("matched").get(step);
            out.add(a.get("user_id").asText() + "@" + Instant.parse(a.get("detected_at").asText()).toEpochMilli()
                    + "@" + bound.get(bound.size() - 1).get("message_id").asText());
        }
        return out;
    }

    /** "user action@time reason" for the segment's updates. */
    private static Set<String> updateKeys(List<JsonNode> updates, String segment) {
        Set<String> out = new TreeSet<>();
        for (JsonNode u : updates) {
            if (!u.get("segment").asText().equals(segment)) continue;
            out.add(u.get("user_id").asText() + " " + u.get("action").asText() + "@" + Instant.parse(u.get("at").asText()).toEpochMilli()
                    + " " + u.get("reason").asText());
        }
        return out;
    }

    /** The independent computation: the CSV read here, each user's events in a sorted list, loops. */
    static final class Oracle {
        record Ev(long ts, String id, String name) {}

        /** What one pattern decided by the end of the log; {@code pending}: distinct (user, time) of its outcomes after it. */
        static final class Result {
            final Set<String> alerts = new TreeSet<>();
            final Set<String> updates = new TreeSet<>();
            final Set<String> users = new TreeSet<>();
            long pending;
            long membersAtEnd;
        }

        private static final DateTimeFormatter REES46_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'");
        private static final Map<String, String> REES46 = Map.of("view", "Product Viewed", "cart", "Product Added", "purchase", "Order Completed");
        private static final Map<String, String> TAOBAO = Map.of("pv", "Product Viewed", "cart", "Product Added",
                "fav", "Product Added to Wishlist", "buy", "Order Completed");

        final Map<String, List<Ev>> users = new TreeMap<>();
        long rows;
        long validRows;
        long first = Long.MAX_VALUE;
        long horizon = Long.MIN_VALUE;

        Oracle(List<String> lines, boolean rees46) throws Exception {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long minTs = Instant.parse("2000-01-01T00:00:00Z").toEpochMilli();
            long maxTs = System.currentTimeMillis() + HOUR;
            Map<String, Set<String>> seen = new HashMap<>();
            for (String line : lines) {
                if (line.isBlank() || (rees46 && line.startsWith("event_time,"))) continue;
                rows++;
                String[] f = line.split(",", -1);
                String user;
                long ts;
                String name;
                if (rees46) {
                    if (f.length != 9) continue; // a truncated row: not an event
                    ts = LocalDateTime.parse(f[0], REES46_TIME).toInstant(ZoneOffset.UTC).toEpochMilli();
                    user = f[7];
                    name = REES46.getOrDefault(f[1], f[1]);
                } else {
                    if (f.length != 5) continue;
                    ts = Long.parseLong(f[4]) * 1000;
                    user = f[0];
                    name = TAOBAO.getOrDefault(f[3], f[3]);
                }
                if (user.isBlank() || ts < minTs || ts > maxTs) continue;
                validRows++;
                first = Math.min(first, ts);
                horizon = Math.max(horizon, ts);
                String id = (rees46 ? "rees46-" : "taobao-") + HexFormat.of().formatHex(sha.digest(line.getBytes(StandardCharsets.UTF_8)), 0, 16);
                if (!seen.computeIfAbsent(user, k -> new HashSet<>()).add(id)) continue; // the same row again
                users.computeIfAbsent(user, k -> new ArrayList<>()).add(new Ev(ts, id, name));
            }
            for (List<Ev> evs : users.values()) evs.sort(Comparator.comparingLong(Ev::ts).thenComparing(Ev::id));
        }

        long count(String name) {
            return users.values().stream().flatMap(List::stream).filter(e -> e.name.equals(name)).count();
        }

        /** A decided match: at {@code at}, anchored on event {@code anchor}. */
        record Match(long at, String anchor) {}

        /** An event that ends membership (exit_on). */
        record Exit(long at, String id) {}

        /**
         * The actions of one pattern for one user, in time order: exits (the TTL first, then
         * events) before matches at the same instant; a match alerts unless capped and enters the
         * segment unless a member; an exit event ends a membership entered before it.
         */
        static void act(String user, String pattern, List<Match> matches, List<Exit> exits, boolean alert, long capPer,
                        String segment, long ttl, boolean exitAlert, long horizon, Result r) {
            record Item(long at, int kind, String id) {}
            List<Item> items = new ArrayList<>();
            for (Match m : matches) items.add(new Item(m.at, 1, m.anchor));
            for (Exit x : exits) items.add(new Item(x.at, 0, x.id));
            items.sort(Comparator.comparingLong(Item::at).thenComparingInt(Item::kind).thenComparing(Item::id));
            boolean member = false;
            long enteredAt = 0;
            long expiresAt = 0;
            long lastAlert = Long.MIN_VALUE;
            Set<String> pending = new HashSet<>();
            List<String[]> out = new ArrayList<>(); // kind, key, at
            for (Item it : items) {
                if (member && expiresAt <= it.at) {
                    out.add(new String[] {"update", user + " exit@" + expiresAt + " ttl", Long.toString(expiresAt), "ttl"});
                    member = false;
                }
                if (it.kind == 0) {
                    if (member && it.at > enteredAt) {
                        member = false;
                        out.add(new String[] {"update", user + " exit@" + it.at + " " + pattern, Long.toString(it.at), pattern});
                        if (exitAlert) out.add(new String[] {"alert", user + "@" + it.at + "@" + it.id, Long.toString(it.at), pattern});
                    }
                    continue;
                }
                if (alert && (capPer == 0 || lastAlert == Long.MIN_VALUE || it.at - lastAlert >= capPer)) {
                    lastAlert = it.at;
                    out.add(new String[] {"alert", user + "@" + it.at + "@" + it.id, Long.toString(it.at), pattern});
                }
                if (segment != null && !member) {
                    member = true;
                    enteredAt = it.at;
                    expiresAt = it.at + ttl;
                    out.add(new String[] {"update", user + " enter@" + it.at + " " + pattern, Long.toString(it.at), pattern});
                }
            }
            if (member) out.add(new String[] {"update", user + " exit@" + expiresAt + " ttl", Long.toString(expiresAt), "ttl"});
            boolean inSegmentAtEnd = false;
            for (String[] o : out) {
                long at = Long.parseLong(o[2]);
                if (at > horizon) {
                    if (o[3].equals(pattern)) pending.add(at + "");
                    continue;
                }
                if (o[0].equals("alert")) {
                    r.alerts.add(o[1]);
                    r.users.add(user);
                } else {
                    r.updates.add(o[1]);
                    boolean enter = o[1].contains(" enter@");
                    if (enter) r.users.add(user);
                    inSegmentAtEnd = enter;
                }
            }
            if (inSegmentAtEnd) r.membersAtEnd++;
            r.pending += pending.size();
        }

        /** A Product Added with a Product Viewed before it within 30 minutes, then no Order Completed for 15 minutes. */
        Result cartAbandonment() {
            Result r = new Result();
            users.forEach((user, evs) -> {
                List<Match> matches = new ArrayList<>();
                List<Exit> exits = new ArrayList<>();
                for (int i = 0; i < evs.size(); i++) {
                    Ev e = evs.get(i);
                    if (e.name.equals("Order Completed")) exits.add(new Exit(e.ts, e.id));
                    if (!e.name.equals("Product Added")) continue;
                    boolean viewed = false;
                    for (int j = i - 1; j >= 0 && !viewed; j--) {
                        Ev v = evs.get(j);
                        if (e.ts - v.ts > 30 * MIN) break;
                        viewed = v.name.equals("Product Viewed");
                    }
                    if (!viewed) continue;
                    boolean ordered = false;
                    for (int k = i + 1; k < evs.size() && !ordered; k++) {
                        Ev o = evs.get(k);
                        if (o.ts > e.ts + 15 * MIN) break;
                        ordered = o.name.equals("Order Completed");
                    }
                    if (!ordered) matches.add(new Match(e.ts + 15 * MIN, e.id));
                }
                act(user, "cart-abandonment", matches, exits, true, DAY, "cart_abandoners", 7 * DAY, false, horizon, r);
            });
            return r;
        }

        /** Five Product Added within 10 minutes, first to fifth; the adds of one burst are not reused. */
        Result highIntentBursts() {
            Result r = new Result();
            users.forEach((user, evs) -> {
                List<Ev> adds = evs.stream().filter(e -> e.name.equals("Product Added")).toList();
                List<Match> matches = new ArrayList<>();
                int start = 0;
                for (int k = 4; k < adds.size(); k++) {
                    if (k - 4 >= start && adds.get(k).ts - adds.get(k - 4).ts <= 10 * MIN) {
                        matches.add(new Match(adds.get(k).ts, adds.get(k).id));
                        start = k + 1;
                    }
                }
                act(user, "high-intent-burst", matches, List.of(), false, 0, "high_intent_shoppers", DAY, false, horizon, r);
            });
            return r;
        }

        /** An event, then none for {@code silence}; any later event ends membership and raises a reactivation alert. */
        Result dormancy(long silence, String pattern, String segment) {
            Result r = new Result();
            users.forEach((user, evs) -> {
                List<Match> matches = new ArrayList<>();
                List<Exit> exits = new ArrayList<>();
                for (int i = 0; i < evs.size(); i++) {
                    Ev e = evs.get(i);
                    exits.add(new Exit(e.ts, e.id));
                    boolean quiet = i + 1 == evs.size() || evs.get(i + 1).ts > e.ts + silence;
                    if (quiet) matches.add(new Match(e.ts + silence, e.id));
                }
                act(user, pattern, matches, exits, false, 0, segment, 180 * DAY, true, horizon, r);
            });
            return r;
        }
    }
}
