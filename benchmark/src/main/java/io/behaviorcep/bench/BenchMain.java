package io.behaviorcep.bench;

import io.behaviorcep.event.BehaviorEvent;

import io.behaviorcep.pattern.PatternDefinition;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/**
 * {@code java -jar benchmark/target/behavior-cep-bench.jar [MODE...] [--option value ...]}: the job
 * against its peers in one process, on one set of generated events. See docs/benchmarks.md.
 */
public final class BenchMain {
    static final String USAGE = """
            usage: java -Xmx6g -jar benchmark/target/behavior-cep-bench.jar [MODE ...] [OPTIONS]

            modes (default: compare):
              compare    (a) the job, (e) its pattern engine alone, (b) plain Flink CEP, (c) MATCH_RECOGNIZE,
                         (d) a hand-written state machine on the same events; events/s, ratios, matches,
                         and the checks a = b = d, e = b
              operators  (e) the engine and (b) Flink CEP's operator alone: one thread, operator test
                         harness, same sorted events; events/s, ratio, and the check e = b
              patterns   the job with 1, 10, 50 patterns (the shipped one plus generated variants)
              users      the job and plain CEP with 10k, 100k, 1M users
              backends   a, b, d with heap (hashmap) and RocksDB state
              state      state bytes per user: a canonical savepoint of the job and of plain CEP, after all events
              layout     state access alone, heap and RocksDB: today's accesses per event vs one value per
                         concern vs one value per user, with the state mode's bytes per user (issue #16)
              latency    the job at a fixed input rate, event time following the wall clock: deadline -> alert p50/p99
              all        every mode above

            options:
              --events N            events for compare and state (default 300000)
              --users N             users for compare and state (default 20000)
              --seed N              generator seed (default 42)
              --span-hours H        event time the events of compare, state and the curves span (default 24)
              --runs N              timed runs per contender, after the warm-up runs; the median counts (default 3)
              --warmups N           untimed warm-up runs per contender before the timed ones (default 1); the JIT
                                    keeps compiling the job's long operator chain for several runs, so the timed runs
                                    of a short warm-up drift faster (the best run is printed too)
              --parallelism N       (default 2)
              --backend B           hashmap or rocksdb, for compare, patterns, users (default hashmap)
              --contenders LIST     any of a,e,b,c,d, a* (the job with every shipped pattern and segment), a0 (the job without patterns), b0 (plain CEP without the
                                    deadline timers); e is the pattern engine alone (default a,e,b,c,d)
              --keep-cap            run cart-abandonment with its cap (1 alert per user per 24 h); (b) is then
                                    capped the same way before the check. Default: cap removed, every match compared
              --patterns-dir DIR    where cart-abandonment.yaml is (default ./patterns, ../patterns, or the classpath)
              --curve-events N      events per point of the patterns, users and backends curves (default 50000)
              --curve-runs N        timed runs per curve point (default 1)
              --pattern-counts L    (default 1,10,50)
              --backend-events N    events of the heap vs RocksDB comparison (default 20000)
              --user-counts L       (default 10000,100000,1000000)
              --events-per-user X   users curve: events per user, at least --curve-events (default 1)
              --layout-events N     events of the layout mode (default 200000)
              --layout-sizes L      layout mode: bytes per user of dedup,profile,engine,buffered event
                                    (default 832,1787,7349,300: every shipped pattern, from the state mode)
              --rate N              latency mode: events per second (default 2000)
              --duration SECONDS    latency mode: how long the input lasts (default 60)
              --speed X             latency mode: event time runs X times the wall clock (default 60)
              --job-config K=V,...  extra settings of the job (a), as `run` takes them (e.g. to switch the engine)
              --big                 the issue's size: --events 3000000 --users 100000 (needs -Xmx8g)
            """;

    final Map<String, String> opts = new HashMap<>();
    final List<String> modes = new ArrayList<>();
    final PrintStream out = System.out;

    public static void main(String[] args) throws Exception {
        int code = new BenchMain().run(args);
        System.exit(code);
    }

    /** @return the exit code: 0, 1 on a failed check, 2 on bad usage */
    public int run(String... args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                out.print(USAGE);
                return 0;
            } else if (a.equals("--keep-cap") || a.equals("--big")) {
                opts.put(a.substring(2), "true");
            } else if (a.startsWith("--")) {
                if (i + 1 >= args.length) return usage("missing value of " + a);
                opts.put(a.substring(2), args[++i]);
            } else {
                modes.add(a);
            }
        }
        if (opts.containsKey("big")) {
            opts.putIfAbsent("events", "3000000");
            opts.putIfAbsent("users", "100000");
        }
        if (opts.containsKey("job-config")) {
            for (String kv : opts.get("job-config").split(",")) {
                int eq = kv.indexOf('=');
                if (eq < 1) return usage("--job-config takes key=value[,key=value...]");
                Contenders.EXTRA_JOB_CONFIG.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        if (modes.isEmpty()) modes.add("compare");
        if (modes.contains("all")) modes.addAll(List.of("compare", "operators", "patterns", "users", "backends", "state", "latency", "layout"));
        Set<String> known = Set.of("compare", "operators", "patterns", "users", "backends", "state", "latency", "layout", "all");
        for (String m : modes) if (!known.contains(m)) return usage("unknown mode " + m);

        header();
        boolean ok = true;
        for (String m : new java.util.LinkedHashSet<>(modes)) {
            switch (m) {
                case "compare" -> ok &= compare();
                case "operators" -> ok &= operators();
                case "patterns" -> patterns();
                case "users" -> users();
                case "backends" -> backends();
                case "state" -> state();
                case "latency" -> latency();
                case "layout" -> ok &= layout();
                default -> { }
            }
        }
        return ok ? 0 : 1;
    }

    private int usage(String problem) {
        System.err.println(problem);
        System.err.print(USAGE);
        return 2;
    }

    int intOpt(String k, int d) {
        return opts.containsKey(k) ? Integer.parseInt(opts.get(k).replace("_", "")) : d;
    }

    double doubleOpt(String k, double d) {
        return opts.containsKey(k) ? Double.parseDouble(opts.get(k)) : d;
    }

    List<Integer> listOpt(String k, String d) {
        return Arrays.stream(opts.getOrDefault(k, d).split(",")).map(String::trim).map(s -> s.replace("_", ""))
                .map(s -> s.endsWith("k") ? Integer.parseInt(s.substring(0, s.length() - 1)) * 1000
                        : s.endsWith("M") ? Integer.parseInt(s.substring(0, s.length() - 1)) * 1_000_000 : Integer.parseInt(s))
                .toList();
    }

    Contenders.Settings settings(String backend) {
        return new Contenders.Settings(intOpt("parallelism", 2), backend);
    }

    String backend() {
        return opts.getOrDefault("backend", "hashmap");
    }

    boolean keepCap() {
        return opts.containsKey("keep-cap");
    }

    Path patternsDir() {
        return opts.containsKey("patterns-dir") ? Path.of(opts.get("patterns-dir")) : null;
    }

    private void header() {
        Runtime rt = Runtime.getRuntime();
        out.printf(Locale.ROOT, "behavior-cep benchmark: %d cores, max heap %d MiB, Java %s, Flink %s%n", rt.availableProcessors(),
                rt.maxMemory() >> 20, System.getProperty("java.version"), flinkVersion());
        out.printf("modes %s, options %s%n", new java.util.LinkedHashSet<>(modes), new TreeMap<>(opts));
    }

    static String flinkVersion() {
        String v = org.apache.flink.runtime.util.EnvironmentInformation.getVersion();
        return v == null ? "?" : v;
    }

    // ---- generating ---------------------------------------------------------------------------------

    /** Traffic plus its registration in the in-memory source. */
    record Data(Traffic traffic, String rawId, String eventsId) implements AutoCloseable {
        @Override
        public void close() {
            MemorySource.release(rawId);
            MemorySource.release(eventsId);
        }
    }

    Data generate(Traffic.Options o) {
        long t0 = System.nanoTime();
        Traffic t = Traffic.generate(o);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        int total = t.size();
        StringBuilder mix = new StringBuilder();
        t.mix.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .forEach(e -> mix.append(String.format(Locale.ROOT, "%s %.1f%%, ", e.getKey(), 100.0 * e.getValue() / total)));
        out.printf(Locale.ROOT, "traffic: %,d events (%,d MB of JSON), %,d users of %,d active, seed %d, zipf %.1f, event time %s .. %s (%s), generated and parsed in %,d ms%n",
                total, t.totalBytes >> 20, t.activeUsers, o.users(), o.seed(), o.zipf(), java.time.Instant.ofEpochMilli(t.firstTimestamp),
                java.time.Instant.ofEpochMilli(t.lastTimestamp), Duration.ofMillis(t.lastTimestamp - t.firstTimestamp), ms);
        out.println("  mix: " + mix.substring(0, Math.max(0, mix.length() - 2)));
        return new Data(t, MemorySource.register(t.raw), MemorySource.register(t.parsed));
    }

    /** Events spread over {@code --span-hours} of event time (default 24). */
    Traffic.Options options(int events, int users) {
        double hours = doubleOpt("span-hours", 24);
        return Traffic.Options.of(intOpt("seed", 42), users, events).withMsPerEvent(hours * 3_600_000.0 / events);
    }

    // ---- timing -------------------------------------------------------------------------------------

    /** A contender's timed runs: the warm-ups, then {@code runs}; the median counts, the best is printed beside it. */
    record Timed(String name, long events, List<Long> millis, Contenders.Outcome last) {
        long median() {
            List<Long> s = new ArrayList<>(millis);
            s.sort(null);
            return s.get(s.size() / 2);
        }

        long best() {
            return millis.stream().mapToLong(Long::longValue).min().orElse(0);
        }

        double eventsPerSecond() {
            return events * 1000.0 / Math.max(1, median());
        }

        double bestEventsPerSecond() {
            return events * 1000.0 / Math.max(1, best());
        }
    }

    Timed time(String name, long events, int runs, Callable<Contenders.Outcome> run) throws Exception {
        return time(name, events, runs, true, run);
    }

    Timed time(String name, long events, int runs, boolean warmUp, Callable<Contenders.Outcome> run) throws Exception {
        out.printf("  %-40s %s", name, warmUp ? "warm-up" : "no warm-up");
        out.flush();
        Contenders.Outcome o = null;
        for (int i = 0, n = warmUp ? intOpt("warmups", 1) : 0; i < n; i++) {
            o = run.call();
            check(name, events, o);
        }
        List<Long> ms = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            o = run.call();
            check(name, events, o);
            ms.add(o.millis());
            out.printf(", %,d ms", o.millis());
            out.flush();
        }
        out.println();
        return new Timed(name, events, ms, o);
    }

    private static void check(String name, long events, Contenders.Outcome o) {
        if (o.emitted() != events) {
            throw new IllegalStateException(name + ": the source emitted " + o.emitted() + " of " + events
                    + " events (a source reader took more than one split?)");
        }
    }

    // ---- compare ------------------------------------------------------------------------------------

    boolean compare() throws Exception {
        int events = intOpt("events", 300_000);
        int users = intOpt("users", 20_000);
        int runs = intOpt("runs", 3);
        Contenders.Settings s = settings(backend());
        Set<String> which = new TreeSet<>(Arrays.asList(opts.getOrDefault("contenders", "a,e,b,c,d").split(",")));
        PatternDefinition cart = Variants.shipped(patternsDir(), keepCap());

        out.printf("%n== compare: cart-abandonment, parallelism %d, %s state, %d warm-up(s) + median of %d%n", s.parallelism(), s.backend(), intOpt("warmups", 1), runs);
        try (Data d = generate(options(events, users))) {
            Map<String, Timed> r = new LinkedHashMap<>();
            if (which.contains("a")) r.put("a", time("(a) job (parse .. actions)", events, runs,
                    () -> Contenders.job(d.rawId, events, List.of(cart), s, true)));
            if (which.contains("a0")) r.put("a0", time("(a0) job without patterns", events, runs,
                    () -> Contenders.job(d.rawId, events, List.of(), s, false)));
            if (which.contains("a*")) {
                io.behaviorcep.pattern.PatternLoader.Result shipped = Variants.shippedFolder(patternsDir());
                r.put("a*", time("(a*) job, all shipped patterns + segments", events, runs,
                        () -> Contenders.job(d.rawId, events, shipped.patterns(), shipped.segments(), Variants.shippedPolicy(patternsDir()), s, false)));
            }
            if (which.contains("b")) r.put("b", time("(b) plain Flink CEP", events, runs,
                    () -> Contenders.plainCep(d.eventsId, s, true, true)));
            if (which.contains("b0")) r.put("b0", time("(b0) plain CEP, Flink's CepOperator", events, runs,
                    () -> Contenders.plainCep(d.eventsId, s, true, false)));
            if (which.contains("e")) r.put("e", time("(e) the job's pattern engine alone", events, runs,
                    () -> Contenders.engineOnly(d.eventsId, s, true, cart)));
            if (which.contains("c")) r.put("c", time("(c) MATCH_RECOGNIZE", events, runs,
                    () -> Contenders.sql(d.eventsId, s, true)));
            if (which.contains("d")) r.put("d", time("(d) hand-written state machine", events, runs,
                    () -> Contenders.stateMachine(d.eventsId, s, true)));
            return report(r, d.traffic, cart, s);
        }
    }

    /** The two pattern operators alone, single-threaded, on the same sorted events (see {@link OperatorBench}). */
    boolean operators() throws Exception {
        int events = intOpt("events", 300_000);
        int users = intOpt("users", 20_000);
        int runs = intOpt("runs", 3);
        PatternDefinition cart = Variants.shipped(patternsDir(), keepCap());
        out.printf("%n== operators: cart-abandonment, one thread, operator test harness, heap state, warm-up + median of %d%n", runs);
        Traffic t = Traffic.generate(options(events, users));
        List<BehaviorEvent> sorted = OperatorBench.sorted(Arrays.asList(t.parsed));
        long[] cep = new long[runs];
        long[] engine = new long[runs];
        OperatorBench.Result c = null;
        OperatorBench.Result e = null;
        for (int i = -1; i < runs; i++) { // run -1 warms up
            c = OperatorBench.cep(sorted);
            e = OperatorBench.engine(sorted, cart);
            if (i >= 0) {
                cep[i] = c.nanos();
                engine[i] = e.nanos();
            }
        }
        Arrays.sort(cep);
        Arrays.sort(engine);
        double cepRate = sorted.size() * 1e9 / cep[runs / 2];
        double engineRate = sorted.size() * 1e9 / engine[runs / 2];
        out.printf(Locale.ROOT, "(b) Flink CEP operator + deadline timers  %,12.0f events/s  (%,d matches, %,d anchors)%n", cepRate, c.matches(), c.anchors().size());
        out.printf(Locale.ROOT, "(e) the job's pattern engine              %,12.0f events/s  (%,d matches, %,d anchors)%n", engineRate, e.matches(), e.anchors().size());
        out.printf(Locale.ROOT, "operator ratio e/b = %.2f%n", engineRate / cepRate);
        boolean same = c.anchors().equals(e.anchors()) && c.matches() == e.matches() && !c.anchors().isEmpty();
        out.printf("check (e) = (b): %s (%,d vs %,d matches)%n", same ? "PASS" : "FAIL", e.matches(), c.matches());
        return same;
    }

    private static final Map<String, String> WHAT = Map.of(
            "a", "Segment JSON -> parse, dedup, profile, pattern engine, actions -> counting sinks",
            "a0", "the job without any pattern: parse, dedup, profile, sinks (what (a) costs besides the patterns)",
            "a*", "the job with every shipped pattern (caps kept), the threshold segments of segments.yaml and the messaging policy of policy.yaml",
            "b", "pre-parsed events -> Pattern (view, followedByAny add <= 30m, no order <= 15m) in AbsenceDeadlineCepOperator",
            "b0", "the same Pattern in Flink's own CepOperator (misses users who go quiet)",
            "e", "pre-parsed events -> pre-filter -> per-user event-time order -> the shipped YAML in the job's pattern engine",
            "c", "pre-parsed events -> SQL MATCH_RECOGNIZE (V X*? A) WITHIN 30 MINUTE: view then first add, no absence",
            "d", "pre-parsed events -> filter -> KeyedProcessFunction, buffer to the watermark, timers at deadlines");

    boolean report(Map<String, Timed> r, Traffic traffic, PatternDefinition cart, Contenders.Settings s) {
        out.println();
        out.printf("%-5s %12s %10s  %-28s %9s %9s  %s%n", "", "events/s", "median ms", "runs ms", "emitted", "distinct", "what");
        for (Map.Entry<String, Timed> e : r.entrySet()) {
            Timed t = e.getValue();
            out.printf(Locale.ROOT, "%-5s %,12.0f %,10d  %-28s %,9d %,9d  %s%n", "(" + e.getKey() + ")", t.eventsPerSecond(), t.median(),
                    t.millis().toString(), t.last().matches(), t.last().set().size(), WHAT.get(e.getKey()));
        }
        Timed a = r.get("a");
        if (a != null) {
            out.printf("(a) also: %,d segment updates, %,d dead letters, %,d late%n", a.last().segmentUpdates(), a.last().deadLetters(),
                    a.last().late());
            StringBuilder ratios = new StringBuilder("ratios (events/s):");
            for (String k : List.of("b", "b0", "c", "d")) {
                if (r.containsKey(k)) ratios.append(String.format(Locale.ROOT, "  a/%s = %.2f", k, a.eventsPerSecond() / r.get(k).eventsPerSecond()));
            }
            if (ratios.indexOf("=") > 0) out.println(ratios);
            StringBuilder best = new StringBuilder("ratios of the best runs (events/s):");
            for (String k : List.of("b", "b0", "c", "d")) {
                if (r.containsKey(k)) best.append(String.format(Locale.ROOT, "  a/%s = %.2f", k, a.bestEventsPerSecond() / r.get(k).bestEventsPerSecond()));
            }
            if (best.indexOf("=") > 0) out.println(best);
        }
        Timed all = r.get("a*");
        if (all != null && r.containsKey("b")) {
            out.printf(Locale.ROOT, "ratio (events/s): a*/b = %.2f, of the best runs %.2f (a*: %,d alerts, %,d segment updates)%n",
                    all.eventsPerSecond() / r.get("b").eventsPerSecond(), all.bestEventsPerSecond() / r.get("b").bestEventsPerSecond(),
                    all.last().matches(), all.last().segmentUpdates());
        }
        out.println("(emitted: alerts for (a), raw matches for the others; distinct: (pattern, user, anchor event) for a, b, d and (user, add) for c)");

        Timed e = r.get("e");
        if (e != null) {
            StringBuilder ratios = new StringBuilder("engine ratios (events/s):");
            for (String k : List.of("b", "b0", "c", "d")) {
                if (r.containsKey(k)) ratios.append(String.format(Locale.ROOT, "  e/%s = %.2f", k, e.eventsPerSecond() / r.get(k).eventsPerSecond()));
            }
            out.println(ratios);
        }
        boolean ok = true;
        if (e != null && r.containsKey("b")) {
            boolean same = e.last().set().equals(r.get("b").last().set()) && !e.last().set().isEmpty();
            ok &= same;
            out.printf("check (e) = (b) as sets of (user, anchor event id): %s  (%,d vs %,d)%n", same ? "PASS" : "FAIL",
                    e.last().set().size(), r.get("b").last().set().size());
        }
        if (a != null) {
            Set<String> actual = a.last().set();
            for (String k : List.of("b", "d")) {
                Timed p = r.get(k);
                if (p == null) continue;
                Set<String> expected = keepCap() ? capped(p.last().set(), traffic, cart) : p.last().set();
                boolean same = actual.equals(expected) && !actual.isEmpty();
                ok &= same;
                out.printf("check (a) = (%s)%s as sets of (user, anchor event id): %s  (%,d vs %,d)%s%n", k, keepCap() ? " capped" : "",
                        same ? "PASS" : "FAIL", actual.size(), expected.size(), same ? "" : difference(actual, expected));
            }
            Timed c = r.get("c");
            if (c != null) {
                long inA = c.last().set().stream().filter(actual::contains).count();
                out.printf("(c) is not the same question: %,d of its %,d (user, add) pairs are matches of (a); the rest were followed by an order, or%n"
                        + "    (a) has %,d anchors that (c) cannot express (an add after an earlier add)%n",
                        inA, c.last().set().size(), actual.stream().filter(x -> !c.last().set().contains(x)).count());
            }
            if (r.containsKey("b0")) {
                long missed = r.get("b").last().set().stream().filter(x -> !r.get("b0").last().set().contains(x)).count();
                out.printf("(b0) Flink's CepOperator misses %,d of (b)'s matches (trailing absences of users who went quiet)%n", missed);
            }
        }
        return ok;
    }

    static String difference(Set<String> a, Set<String> b) {
        List<String> onlyA = a.stream().filter(x -> !b.contains(x)).limit(5).toList();
        List<String> onlyB = b.stream().filter(x -> !a.contains(x)).limit(5).toList();
        return "\n    only in (a): " + onlyA + "\n    only in the other: " + onlyB;
    }

    /** What the actions operator lets through of these matches under the pattern's cap: per user, in deadline order. */
    static Set<String> capped(Set<String> matches, Traffic traffic, PatternDefinition cart) {
        if (cart.cap == null) return matches;
        Map<String, Long> ts = new HashMap<>();
        for (var e : traffic.parsed) ts.put(e.messageId, e.timestamp);
        long absent = cart.trailingAbsence().absentFor.toMillis();
        long per = cart.cap.per.toMillis();
        Map<String, List<String[]>> byUser = new TreeMap<>();
        for (String m : matches) {
            String[] p = m.split(" ");
            byUser.computeIfAbsent(p[1], u -> new ArrayList<>()).add(p);
        }
        Set<String> kept = new TreeSet<>();
        for (List<String[]> ms : byUser.values()) {
            ms.sort(Comparator.comparingLong((String[] p) -> ts.get(p[2])).thenComparing(p -> p[2]));
            List<Long> emitted = new ArrayList<>();
            for (String[] p : ms) {
                long at = ts.get(p[2]) + absent;
                long inWindow = emitted.stream().filter(t -> t > at - per).count();
                if (inWindow < cart.cap.max) {
                    emitted.add(at);
                    kept.add(String.join(" ", p));
                }
            }
        }
        return kept;
    }

    // ---- curves -------------------------------------------------------------------------------------

    void patterns() throws Exception {
        int events = intOpt("curve-events", 50_000);
        int users = intOpt("users", 20_000);
        int runs = intOpt("curve-runs", 1);
        Contenders.Settings s = settings(backend());
        out.printf("%n== cost vs number of patterns: the job, parallelism %d, %s state, warm-up + median of %d%n", s.parallelism(), s.backend(), runs);
        try (Data d = generate(options(events, users))) {
            Timed one = null;
            List<String> rows = new ArrayList<>();
            for (int n : listOpt("pattern-counts", "1,10,50")) {
                List<PatternDefinition> set = Variants.set(patternsDir(), keepCap(), n);
                Timed t = time("(a) job, " + n + " pattern(s)", events, runs, () -> Contenders.job(d.rawId, events, set, s, false));
                if (one == null) one = t;
                rows.add(String.format(Locale.ROOT, "%9d %,12.0f %,10d %11.2fx %,10d", n, t.eventsPerSecond(), t.median(),
                        (double) t.median() / one.median(), t.last().matches()));
            }
            out.printf("%9s %12s %10s %12s %10s%n", "patterns", "events/s", "median ms", "cost vs 1", "alerts");
            rows.forEach(out::println);
        }
    }

    /**
     * Cost vs users: {@code --events-per-user} events per user (at least {@code --curve-events}) and a flatter
     * Zipf (0.5), so that most users are active and the key space really grows; warm-up at the first point only.
     */
    void users() throws Exception {
        int minEvents = intOpt("curve-events", 50_000);
        double perUser = doubleOpt("events-per-user", 1);
        int runs = intOpt("curve-runs", 1);
        Contenders.Settings s = settings(backend());
        PatternDefinition cart = Variants.shipped(patternsDir(), keepCap());
        out.printf("%n== cost vs users: %.1f events per user (at least %,d), zipf 0.5, parallelism %d, %s state, median of %d%n",
                perUser, minEvents, s.parallelism(), s.backend(), runs);
        List<String> rows = new ArrayList<>();
        boolean first = true;
        for (int u : listOpt("user-counts", "10000,100000,1000000")) {
            int events = (int) Math.max(minEvents, Math.round(u * perUser));
            Traffic.Options base = options(events, u);
            Traffic.Options o = new Traffic.Options(base.seed(), u, events, 0.5, base.msPerEvent(), base.maxOutOfOrderMs(),
                    base.outOfOrderRatio(), base.start());
            try (Data d = generate(o)) {
                Timed a = time("(a) job, " + u + " users", events, runs, first, () -> Contenders.job(d.rawId, events, List.of(cart), s, false));
                Timed b = time("(b) plain CEP, " + u + " users", events, runs, first, () -> Contenders.plainCep(d.eventsId, s, false, true));
                rows.add(String.format(Locale.ROOT, "%,10d %,10d %,10d %,12.0f %,12.0f %8.2f", u, events, d.traffic.activeUsers,
                        a.eventsPerSecond(), b.eventsPerSecond(), a.eventsPerSecond() / b.eventsPerSecond()));
            }
            first = false;
        }
        out.printf("%10s %10s %10s %12s %12s %8s%n", "users", "events", "active", "(a) ev/s", "(b) ev/s", "a/b");
        rows.forEach(out::println);
    }

    void backends() throws Exception {
        // CEP on RocksDB is slow (a seek per key and timer, see docs/benchmarks.md): fewer events by default
        int events = intOpt("backend-events", 20_000);
        int users = intOpt("users", 20_000);
        int runs = intOpt("curve-runs", 1);
        PatternDefinition cart = Variants.shipped(patternsDir(), keepCap());
        out.printf("%n== heap vs RocksDB: %,d events, parallelism %d, warm-up + median of %d%n", events, intOpt("parallelism", 2), runs);
        List<String> rows = new ArrayList<>();
        try (Data d = generate(options(events, users))) {
            Map<String, double[]> eps = new LinkedHashMap<>();
            for (String backend : List.of("hashmap", "rocksdb")) {
                Contenders.Settings s = settings(backend);
                eps.computeIfAbsent("(a) job", k -> new double[2])[backend.equals("hashmap") ? 0 : 1] =
                        time("(a) job, " + backend, events, runs, () -> Contenders.job(d.rawId, events, List.of(cart), s, false)).eventsPerSecond();
                eps.computeIfAbsent("(b) plain CEP", k -> new double[2])[backend.equals("hashmap") ? 0 : 1] =
                        time("(b) plain CEP, " + backend, events, runs, () -> Contenders.plainCep(d.eventsId, s, false, true)).eventsPerSecond();
                eps.computeIfAbsent("(d) state machine", k -> new double[2])[backend.equals("hashmap") ? 0 : 1] =
                        time("(d) state machine, " + backend, events, runs, () -> Contenders.stateMachine(d.eventsId, s, false)).eventsPerSecond();
            }
            eps.forEach((k, v) -> rows.add(String.format(Locale.ROOT, "%-20s %,12.0f %,12.0f %8.2f", k, v[0], v[1], v[0] / v[1])));
        }
        out.printf("%-20s %12s %12s %8s%n", "contender", "heap ev/s", "rocksdb ev/s", "heap/rdb");
        rows.forEach(out::println);
    }

    boolean layout() throws Exception {
        long events = intOpt("layout-events", 200_000);
        int users = intOpt("users", 20_000);
        int runs = intOpt("curve-runs", 1);
        List<Integer> z = listOpt("layout-sizes", "832,1787,7349,300");
        if (z.size() != 4) throw new IllegalArgumentException("--layout-sizes takes 4 sizes: dedup,profile,engine,event");
        StateLayoutBench.Sizes sizes = new StateLayoutBench.Sizes(z.get(0), z.get(1), z.get(2), z.get(3));
        out.printf("%n== state layout: %,d events over %,d users, %s bytes per user (dedup, profile, engine) + %d per buffered event, parallelism %d, warm-up + median of %d%n",
                events, users, z.subList(0, 3), sizes.event(), intOpt("parallelism", 2), runs);
        boolean ok = true;
        Map<String, Double> eps = new LinkedHashMap<>();
        for (String backend : List.of("hashmap", "rocksdb")) {
            for (String layout : StateLayoutBench.LAYOUTS) {
                String name = layout + ", " + backend;
                out.printf("  %-40s warm-up", name);
                out.flush();
                StateLayoutBench.Result r = StateLayoutBench.run(layout, settings(backend), events, users, sizes, intOpt("seed", 42));
                List<Long> ms = new ArrayList<>();
                for (int i = 0; i < runs; i++) {
                    r = StateLayoutBench.run(layout, settings(backend), events, users, sizes, intOpt("seed", 42));
                    ms.add(r.millis());
                    out.printf(", %,d ms", r.millis());
                    out.flush();
                }
                out.println();
                if (r.counted() != events) {
                    out.printf("  CHECK FAILED: %s handled %,d of %,d events%n", name, r.counted(), events);
                    ok = false;
                }
                ms.sort(null);
                eps.put(name, events * 1000.0 / Math.max(1, ms.get(ms.size() / 2)));
            }
        }
        out.printf("%-12s %-8s %12s %8s%n", "layout", "backend", "events/s", "/today");
        for (String backend : List.of("hashmap", "rocksdb")) {
            double today = eps.get("today, " + backend);
            for (String layout : StateLayoutBench.LAYOUTS) {
                out.println(StateLayoutBench.row(layout, backend, eps.get(layout + ", " + backend), eps.get(layout + ", " + backend) / today));
            }
        }
        for (String layout : StateLayoutBench.LAYOUTS) {
            out.printf(Locale.ROOT, "%-12s RocksDB at %.0f %% of heap%n", layout, 100 * eps.get(layout + ", rocksdb") / eps.get(layout + ", hashmap"));
        }
        return ok;
    }

    void state() throws Exception {
        int events = intOpt("events", 300_000);
        int users = intOpt("users", 20_000);
        Contenders.Settings s = settings("hashmap");
        PatternDefinition cart = Variants.shipped(patternsDir(), keepCap());
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "behavior-cep-bench-savepoints-" + ProcessHandle.current().pid());
        out.printf("%n== state bytes per user: canonical savepoint after all %,d events (before end of input), parallelism %d%n", events, s.parallelism());
        try (Data d = generate(options(events, users))) {
            Contenders.StateSize job = Contenders.savepoint(d.rawId, events, List.of(cart), List.of(), s, dir.resolve("job"), true);
            io.behaviorcep.pattern.PatternLoader.Result shipped = Variants.shippedFolder(patternsDir());
            Contenders.StateSize all = Contenders.savepoint(d.rawId, events, shipped.patterns(), shipped.segments(), Variants.shippedPolicy(patternsDir()), s,
                    dir.resolve("all"), true);
            long cep = Contenders.savepointBytes(d.eventsId, events, List.of(cart), s, dir.resolve("cep"), false);
            int active = d.traffic.activeUsers;
            out.printf("%-55s %14s %10s%n", "", "savepoint bytes", "per user");
            out.printf(Locale.ROOT, "%-55s %,14d %,10.0f%n", "(a) job, cart-abandonment: dedup ids, profile, engine, actions", job.total(), (double) job.total() / active);
            out.printf(Locale.ROOT, "%-55s %,14d %,10.0f%n", "(a*) job, every shipped pattern and segment", all.total(), (double) all.total() / active);
            out.printf(Locale.ROOT, "%-55s %,14d %,10.0f%n", "(b) plain CEP: buffered events and partial matches", cep, (double) cep / active);
            out.printf("(per active user: %,d users sent events)%n", active);
            out.printf("%nby concern (operator uid; state size in the savepoint's metadata, per active user):%n");
            out.printf("%-26s %12s %12s%n", "uid", "(a) B/user", "(a*) B/user");
            java.util.Set<String> uidsSeen = new java.util.TreeSet<>(job.byUid().keySet());
            uidsSeen.addAll(all.byUid().keySet());
            for (String uid : uidsSeen) {
                out.printf(Locale.ROOT, "%-26s %,12.0f %,12.0f%n", uid, (double) job.byUid().getOrDefault(uid, 0L) / active,
                        (double) all.byUid().getOrDefault(uid, 0L) / active);
            }
        } finally {
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        if (!java.nio.file.Files.exists(dir)) return;
        try (var files = java.nio.file.Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) java.nio.file.Files.deleteIfExists(p);
        }
    }

    void latency() throws Exception {
        double rate = doubleOpt("rate", 2000);
        int seconds = intOpt("duration", 60);
        double speed = doubleOpt("speed", 60);
        int users = intOpt("users", 20_000);
        int events = (int) (rate * seconds);
        Contenders.Settings s = settings(backend());
        PatternDefinition cart = Variants.shipped(patternsDir(), keepCap());
        out.printf(Locale.ROOT, "%n== detection latency: the job at %,.0f events/s for %d s, event time = %.0fx wall clock, parallelism %d, %s state%n",
                rate, seconds, speed, s.parallelism(), s.backend());
        Traffic.Options o = options(events, users).withMsPerEvent(speed * 1000.0 / rate);
        try (Data d = generate(o)) {
            long t0 = o.start().toEpochMilli();
            LatencyRun r = Contenders.latency(d.rawId, events, List.of(cart), s, rate, new PacedClock(d.rawId, t0, speed));
            long cutoff = d.traffic.lastTimestamp - Contenders.OUT_OF_ORDERNESS.toMillis() - 1;
            List<Long> l = new ArrayList<>();
            int atEnd = 0;
            for (long[] x : r.latencies()) {
                if (x[0] <= cutoff) l.add(x[1]);
                else atEnd++;
            }
            l.sort(null);
            if (l.isEmpty()) {
                out.println("no alert was decided before the end of the input: run longer (--duration)");
                return;
            }
            double floor = Contenders.OUT_OF_ORDERNESS.toMillis() / speed + 200;
            out.printf(Locale.ROOT, "alerts %,d (%,d more decided only at the end of input, not counted); input kept pace: %s%n", l.size(), atEnd,
                    r.keptPace() ? "yes" : "NO (the job fell behind: the figures include the backlog)");
            out.printf(Locale.ROOT, "deadline -> counting sink, wall ms: p50 %,.0f  p90 %,.0f  p99 %,.0f  max %,.0f%n",
                    pct(l, 50), pct(l, 90), pct(l, 99), l.get(l.size() - 1) / 1000.0);
            out.printf(Locale.ROOT, "(built in: max-out-of-orderness %d s / speed %.0f + watermark interval 200 ms = %.0f ms before event time passes a deadline)%n",
                    Contenders.OUT_OF_ORDERNESS.toSeconds(), speed, floor);
        }
    }

    static double pct(List<Long> sortedMicros, int p) {
        int i = (int) Math.ceil(p / 100.0 * sortedMicros.size()) - 1;
        return sortedMicros.get(Math.max(0, Math.min(sortedMicros.size() - 1, i))) / 1000.0;
    }

    /** Event time -> the wall time (nanoTime) at which the paced source reached it. */
    record PacedClock(String dataId, long t0, double speed) implements CountingIO.DeadlineClock {
        @Override
        public long wallNanosOf(long eventTime) {
            return MemorySource.pacedStartNanos(dataId) + (long) ((eventTime - t0) / speed * 1_000_000);
        }
    }

    record LatencyRun(List<long[]> latencies, boolean keptPace) {}
}
