package io.behaviorcep.bench;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.EventParser;
import io.behaviorcep.event.RawRecord;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Deterministic shop traffic for the benchmark, made once in memory before anything is timed: the
 * raw Segment JSON bytes (what the job reads from Kafka) and the same records parsed by the job's
 * own {@link EventParser} (what the peers read, so every contender sees identical events).
 *
 * <ul>
 *   <li>Sessions: a landing page, a few product views (with list views and searches in between),
 *       about a third add to the cart, some of those check out, most check-outs order. Gaps inside a
 *       session are exponential (mean 40 s); between an add and a checkout about 5 min, so both sides
 *       of the 15-minute absence occur.</li>
 *   <li>Power-law users: a new session goes to user rank r with probability proportional to
 *       1 / r^zipf; a user has one session at a time and waits 30 min (simulated) before the next,
 *       so the heaviest users are busy but not bots.</li>
 *   <li>Time: a simulated clock advances {@code msPerEvent} per record; each record slot goes to the
 *       session whose next event is due, else a new session starts. Event time is therefore
 *       monotone, except that {@code outOfOrderRatio} of the events are stamped up to
 *       {@code maxOutOfOrderMs} earlier (within the job's 30 s bound, so nothing is late). A user's
 *       events never share a millisecond, so every contender orders them the same way.</li>
 * </ul>
 * Same options, same bytes.
 */
public final class Traffic {
    public static final Instant DEFAULT_START = Instant.parse("2025-01-06T08:00:00Z");

    public record Options(long seed, int users, int events, double zipf, double msPerEvent, long maxOutOfOrderMs,
                          double outOfOrderRatio, Instant start) {
        public static Options of(long seed, int users, int events) {
            return new Options(seed, users, events, 1.0, 20, 5_000, 0.05, DEFAULT_START);
        }

        public Options withMsPerEvent(double ms) {
            return new Options(seed, users, events, zipf, ms, maxOutOfOrderMs, outOfOrderRatio, start);
        }

        public Options withEvents(int n) {
            return new Options(seed, users, n, zipf, msPerEvent, maxOutOfOrderMs, outOfOrderRatio, start);
        }

        public Options withUsers(int u) {
            return new Options(seed, u, events, zipf, msPerEvent, maxOutOfOrderMs, outOfOrderRatio, start);
        }
    }

    static final String VIEWED = "Product Viewed";
    static final String ADDED = "Product Added";
    static final String CHECKOUT = "Checkout Started";
    static final String ORDER = "Order Completed";
    static final String LIST_VIEWED = "Product List Viewed";
    static final String SEARCHED = "Products Searched";
    private static final String[] PAGES = {"Home", "Category", "Deals", "Search Results", "Help"};
    private static final String[] CATEGORIES = {"Kitchen", "Garden", "Books", "Toys", "Outdoor", "Audio", "Office", "Pets"};
    private static final String[] AGENTS = {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"};
    private static final long SESSION_PAUSE_MS = 30 * 60_000L;
    private static final int PRODUCTS = 5_000;

    public final Options options;
    public final RawRecord[] raw;
    public final BehaviorEvent[] parsed;
    /** Users with at least one event. */
    public final int activeUsers;
    /** Events per event name (pages under their page name), for the printed mix. */
    public final Map<String, Integer> mix;
    public final long firstTimestamp;
    public final long lastTimestamp;
    public final long totalBytes;

    private Traffic(Options options, RawRecord[] raw, BehaviorEvent[] parsed, int activeUsers, Map<String, Integer> mix,
                    long first, long last, long bytes) {
        this.options = options;
        this.raw = raw;
        this.parsed = parsed;
        this.activeUsers = activeUsers;
        this.mix = mix;
        this.firstTimestamp = first;
        this.lastTimestamp = last;
        this.totalBytes = bytes;
    }

    public int size() {
        return raw.length;
    }

    /** One planned event of a session. */
    private record Step(String type, String name, long gapMs, int product) {}

    private static final class Session {
        final int user;
        final List<Step> steps;
        int next;
        long due;

        Session(int user, List<Step> steps, long due) {
            this.user = user;
            this.steps = steps;
            this.due = due;
        }
    }

    public static Traffic generate(Options o) {
        if (o.users < 1 || o.events < 1) throw new IllegalArgumentException("users and events must be positive");
        SplittableRandom rnd = new SplittableRandom(o.seed);
        double[] cumulative = new double[o.users];
        double sum = 0;
        for (int r = 0; r < o.users; r++) {
            sum += 1.0 / Math.pow(r + 1, o.zipf);
            cumulative[r] = sum;
        }
        boolean[] active = new boolean[o.users];
        long[] pausedUntil = new long[o.users];
        long[] recent = new long[o.users * 4];
        java.util.Arrays.fill(recent, Long.MIN_VALUE);
        boolean[] seen = new boolean[o.users];
        int activeUsers = 0;

        PriorityQueue<Session> due = new PriorityQueue<>((a, b) -> Long.compare(a.due, b.due));
        long start = o.start.toEpochMilli();
        RawRecord[] raw = new RawRecord[o.events];
        Map<String, Integer> mix = new TreeMap<>();
        String idPrefix = "m" + Long.toString(o.seed & 0xffffffL, 36) + "-";
        long bytes = 0;
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;

        for (int i = 0; i < o.events; i++) {
            long now = start + (long) (i * o.msPerEvent);
            Session s;
            if (!due.isEmpty() && due.peek().due <= now) {
                s = due.poll();
            } else {
                int user = pickUser(rnd, cumulative, sum, active, pausedUntil, now, o.users);
                if (user < 0 && !due.isEmpty()) {
                    // every user is busy or pausing: the earliest session goes on early
                    s = due.poll();
                } else {
                    if (user < 0) user = anyIdle(rnd, active, pausedUntil, o.users);
                    s = new Session(user, script(rnd), now);
                    active[user] = true;
                }
            }
            Step step = s.steps.get(s.next++);
            long ts = now;
            if (o.maxOutOfOrderMs > 0 && rnd.nextDouble() < o.outOfOrderRatio) ts -= 1 + rnd.nextLong(o.maxOutOfOrderMs);
            ts = unique(recent, s.user, ts);
            if (s.next < s.steps.size()) {
                s.due = now + s.steps.get(s.next).gapMs;
                due.add(s);
            } else {
                active[s.user] = false;
                pausedUntil[s.user] = now + SESSION_PAUSE_MS;
            }
            if (!seen[s.user]) {
                seen[s.user] = true;
                activeUsers++;
            }
            byte[] json = json(step, s.user, idPrefix + i, ts, rnd).getBytes(StandardCharsets.UTF_8);
            bytes += json.length;
            raw[i] = new RawRecord(null, json, "bench", 0, i);
            mix.merge(step.name, 1, Integer::sum);
            first = Math.min(first, ts);
            last = Math.max(last, ts);
        }

        // parsed once by the job's own parser; its clock is the wall clock (the traffic lies in the past)
        EventParser parser = new EventParser(EventParser.Limits.defaults());
        BehaviorEvent[] parsed = new BehaviorEvent[raw.length];
        for (int i = 0; i < raw.length; i++) {
            EventParser.Result r = parser.parse(raw[i]);
            if (!r.ok()) throw new IllegalStateException("generated record " + i + " does not parse: " + r.deadLetter);
            parsed[i] = r.event;
        }
        return new Traffic(o, raw, parsed, activeUsers, mix, first, last, bytes);
    }

    /** A Zipf draw among users free to start a session; -1 if none was found in a few tries. */
    private static int pickUser(SplittableRandom rnd, double[] cumulative, double sum, boolean[] active, long[] pausedUntil,
                                long now, int users) {
        for (int t = 0; t < 16; t++) {
            int u = java.util.Arrays.binarySearch(cumulative, rnd.nextDouble() * sum);
            if (u < 0) u = -u - 1;
            if (u >= users) u = users - 1;
            if (!active[u] && pausedUntil[u] <= now) return u;
        }
        for (int t = 0; t < 64; t++) {
            int u = rnd.nextInt(users);
            if (!active[u] && pausedUntil[u] <= now) return u;
        }
        return -1;
    }

    /** The idle user whose pause ends first (too few users for the traffic asked for). */
    private static int anyIdle(SplittableRandom rnd, boolean[] active, long[] pausedUntil, int users) {
        int best = -1;
        for (int u = 0; u < users; u++) {
            if (!active[u] && (best < 0 || pausedUntil[u] < pausedUntil[best])) best = u;
        }
        if (best < 0) throw new IllegalStateException("no idle user");
        return best;
    }

    /** Keeps a user's timestamps distinct (the last four are remembered; jitter is far below a session pause). */
    private static long unique(long[] recent, int user, long ts) {
        int base = user * 4;
        boolean clash = true;
        while (clash) {
            clash = false;
            for (int k = 0; k < 4; k++) {
                if (recent[base + k] == ts) {
                    ts++;
                    clash = true;
                }
            }
        }
        System.arraycopy(recent, base, recent, base + 1, 3);
        recent[base] = ts;
        return ts;
    }

    private static long gap(SplittableRandom rnd, double meanMs, long min, long max) {
        long g = (long) (-Math.log(1 - rnd.nextDouble()) * meanMs);
        return Math.max(min, Math.min(max, g));
    }

    private static int product(SplittableRandom rnd) {
        // popular products are viewed more: a squared uniform leans to low ids
        double u = rnd.nextDouble();
        return (int) (u * u * PRODUCTS);
    }

    private static List<Step> script(SplittableRandom rnd) {
        List<Step> steps = new ArrayList<>();
        steps.add(new Step("page", PAGES[rnd.nextInt(PAGES.length)], 0, -1));
        if (rnd.nextDouble() < 0.5) steps.add(new Step("page", PAGES[rnd.nextInt(PAGES.length)], gap(rnd, 20_000, 1_000, 600_000), -1));
        int views = 1;
        while (views < 12 && rnd.nextDouble() < 0.7) views++;
        int lastProduct = -1;
        for (int v = 0; v < views; v++) {
            double r = rnd.nextDouble();
            if (r < 0.15) steps.add(new Step("track", LIST_VIEWED, gap(rnd, 30_000, 1_000, 600_000), -1));
            else if (r < 0.25) steps.add(new Step("track", SEARCHED, gap(rnd, 30_000, 1_000, 600_000), -1));
            lastProduct = product(rnd);
            steps.add(new Step("track", VIEWED, gap(rnd, 40_000, 1_000, 900_000), lastProduct));
        }
        if (rnd.nextDouble() < 0.35) {
            steps.add(new Step("track", ADDED, gap(rnd, 60_000, 1_000, 45 * 60_000), lastProduct));
            if (rnd.nextDouble() < 0.3) {
                int p = product(rnd);
                steps.add(new Step("track", VIEWED, gap(rnd, 40_000, 1_000, 900_000), p));
                steps.add(new Step("track", ADDED, gap(rnd, 40_000, 1_000, 900_000), p));
            }
            if (rnd.nextDouble() < 0.45) {
                steps.add(new Step("track", CHECKOUT, gap(rnd, 5 * 60_000, 1_000, 40 * 60_000), -1));
                if (rnd.nextDouble() < 0.75) steps.add(new Step("track", ORDER, gap(rnd, 3 * 60_000, 1_000, 30 * 60_000), -1));
            }
        }
        return steps;
    }

    private static final DateTimeFormatter ISO = DateTimeFormatter.ISO_INSTANT;

    private static String json(Step step, int user, String messageId, long ts, SplittableRandom rnd) {
        StringBuilder b = new StringBuilder(480);
        b.append("{\"type\":\"").append(step.type).append("\",");
        b.append(step.type.equals("track") ? "\"event\":\"" : "\"name\":\"").append(step.name).append("\",");
        b.append("\"messageId\":\"").append(messageId).append("\",");
        b.append("\"userId\":\"u").append(user).append("\",\"anonymousId\":\"a").append(Integer.toHexString(user * 31 + 7)).append("\",");
        b.append("\"timestamp\":\"").append(ISO.format(Instant.ofEpochMilli(ts))).append("\",");
        b.append("\"properties\":{");
        if (step.product >= 0) {
            int p = step.product;
            b.append("\"product_id\":\"p").append(p).append("\",\"sku\":\"SKU-").append(10_000 + p)
                    .append("\",\"category\":\"").append(CATEGORIES[p % CATEGORIES.length])
                    .append("\",\"name\":\"Product ").append(p).append("\",\"price\":").append(5 + (p * 37 % 19_500) / 100.0)
                    .append(",\"currency\":\"USD\"");
            if (step.name.equals(ADDED)) b.append(",\"quantity\":").append(1 + rnd.nextInt(3)).append(",\"cart_id\":\"c").append(user).append('"');
        } else if (step.name.equals(ORDER) || step.name.equals(CHECKOUT)) {
            b.append("\"order_id\":\"o").append(messageId).append("\",\"revenue\":").append(10 + rnd.nextInt(300))
                    .append(",\"currency\":\"USD\"");
        } else if (step.name.equals(SEARCHED)) {
            b.append("\"query\":\"").append(CATEGORIES[rnd.nextInt(CATEGORIES.length)].toLowerCase()).append('"');
        } else {
            String path = "/" + step.name.toLowerCase().replace(' ', '-');
            b.append("\"path\":\"").append(path).append("\",\"url\":\"https://shop.example").append(path)
                    .append("\",\"title\":\"").append(step.name).append(" | Example Shop\"");
        }
        b.append("},\"context\":{\"library\":{\"name\":\"behavior-cep-bench\",\"version\":\"1\"},\"userAgent\":\"")
                .append(AGENTS[user % AGENTS.length]).append("\",\"locale\":\"en-US\"}}");
        return b.toString();
    }
}
