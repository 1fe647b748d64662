package io.behaviorcep.local;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Synthetic shop traffic in Segment's spec, for {@code local} and the benchmarks. It is meant to
 * make the shipped patterns fire for the right reasons: browsing sessions, carts of which about a
 * third are abandoned, orders, plus the dirt a real pipeline sees (malformed, duplicate and late
 * records), each at a configured ratio.
 *
 * <p>Everything is decided by one seeded random source and a simulated clock that advances a fixed
 * amount per record ({@code timeSpeed / eventsPerSecond} seconds), never by the wall clock, so the
 * same seed gives the same bytes whether records are taken with {@link #nextBatch} or paced by
 * {@link #runTo}. Simulated time runs {@code timeSpeed} times faster than real time so that the
 * 15- and 30-minute windows of the patterns close within seconds of a demo.
 *
 * <p>Sessions are scheduled, not sampled: each record slot goes to the active session whose next
 * event is due, else a new session starts for a user idle for more than 30 simulated minutes. This
 * keeps the event rate exact while gaps inside sessions stay realistic. Memory is bounded by the
 * user count (one short script per active session) plus a fixed window of recent records for
 * duplicates. Not thread-safe, except the counters, which a reporter may read from another thread.
 */
public final class TrafficGenerator {

    /**
     * @param timeSpeed simulated seconds per wall second. With a value above 1 the simulated clock
     *     overtakes the wall clock after a while, and the job refuses events too far in the future;
     *     so start in the past (the default start is a fixed past date, which also keeps runs repeatable)
     */
    public record Config(long seed, int users, double eventsPerSecond, Instant simulatedStart, double timeSpeed,
                         double malformedRatio, double duplicateRatio, double lateRatio) {

        public static final Instant DEFAULT_START = Instant.parse("2025-01-06T08:00:00Z");

        public Config {
            if (users < 1) throw new IllegalArgumentException("users must be at least 1");
            if (!(eventsPerSecond > 0)) throw new IllegalArgumentException("eventsPerSecond must be positive");
            if (!(timeSpeed > 0)) throw new IllegalArgumentException("timeSpeed must be positive");
            if (simulatedStart == null) throw new IllegalArgumentException("simulatedStart is required");
            if (malformedRatio < 0 || duplicateRatio < 0 || lateRatio < 0 || malformedRatio + duplicateRatio + lateRatio > 1) {
                throw new IllegalArgumentException("ratios must be non-negative and add up to at most 1");
            }
        }

        public static Config defaults(long seed) {
            return new Config(seed, 2000, 500, DEFAULT_START, 60, 0.002, 0.005, 0.001);
        }

        public Config withUsers(int users) {
            return new Config(seed, users, eventsPerSecond, simulatedStart, timeSpeed, malformedRatio, duplicateRatio, lateRatio);
        }

        public Config withEventsPerSecond(double eps) {
            return new Config(seed, users, eps, simulatedStart, timeSpeed, malformedRatio, duplicateRatio, lateRatio);
        }

        public Config withSimulatedStart(Instant start) {
            return new Config(seed, users, eventsPerSecond, start, timeSpeed, malformedRatio, duplicateRatio, lateRatio);
        }

        public Config withTimeSpeed(double speed) {
            return new Config(seed, users, eventsPerSecond, simulatedStart, speed, malformedRatio, duplicateRatio, lateRatio);
        }

        public Config withRatios(double malformed, double duplicate, double late) {
            return new Config(seed, users, eventsPerSecond, simulatedStart, timeSpeed, malformed, duplicate, late);
        }
    }

    /** Why a record was produced, so tests and benchmarks can tell deliberate dirt from a bug. */
    public enum Kind { EVENT, MALFORMED, DUPLICATE, LATE }

    /** One Kafka record: key is the user's id (userId, else anonymousId), value the JSON bytes. */
    public record GeneratedRecord(byte[] key, byte[] value, Kind kind) {
        public String keyString() {
            return new String(key, StandardCharsets.UTF_8);
        }

        public String valueString() {
            return new String(value, StandardCharsets.UTF_8);
        }
    }

    private static final long SESSION_GAP_MS = TimeUnit.MINUTES.toMillis(31);
    private static final long MAX_STEP_GAP_MS = TimeUnit.MINUTES.toMillis(5);
    private static final long LATE_BY_MS = TimeUnit.HOURS.toMillis(2);
    private static final long FUTURE_BY_MS = TimeUnit.DAYS.toMillis(3650);
    private static final int DUPLICATE_WINDOW = 512;
    private static final double MAX_ACTIVITY = 20;
    private static final int PRODUCTS = 500;
    private static final String SHOP = "https://shop.example.com";
    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    private static final String[] CATEGORIES = {
        "Shoes", "Jackets", "Bags", "Watches", "Headphones", "Lamps", "Cookware", "Books", "Toys", "Outdoor"};
    private static final String[] ITEMS = {
        "Sneaker", "Rain Jacket", "Backpack", "Chronograph", "Headphones", "Desk Lamp", "Skillet", "Novel", "Puzzle", "Tent"};
    private static final String[] ADJECTIVES = {
        "Classic", "Urban", "Trail", "Compact", "Deluxe", "Vintage", "Everyday", "Pro", "Lightweight", "Studio", "Nordic", "Eco"};
    private static final String[] SEARCHES = {"gift", "sale", "black", "waterproof", "wireless", "kids", "leather", "travel"};
    /**
     * The shoppers' time zones ({@code context.timezone}, as analytics.js sends it): spread over the day,
     * so that the shipped messaging policy's quiet hours hold some alerts back and let others through at
     * any hour the demo runs.
     */
    private static final String[] TIME_ZONES = {"America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin",
            "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"};

    private static final String[] USER_AGENTS = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"};

    private record Product(String id, String sku, String name, int category, double price) {
    }

    private static final class User {
        final String userId;
        final String anonymousId;
        final String userAgent;
        final String timeZone;
        final byte[] key;
        final double activity;
        long lastAt = Long.MIN_VALUE / 2;
        boolean active;

        User(String userId, String anonymousId, String userAgent, String timeZone, double activity) {
            this.timeZone = timeZone;
            this.userId = userId;
            this.activity = activity;
            this.anonymousId = anonymousId;
            this.userAgent = userAgent;
            this.key = (userId != null ? userId : anonymousId).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** What a user will do next; timestamp and messageId are set when the slot comes. */
    private record Step(String type, String name, ObjectNode properties, double meanGapSeconds) {
    }

    private static final class Session {
        final User user;
        final Deque<Step> steps;
        final long order;
        long due;

        Session(User user, Deque<Step> steps, long order) {
            this.user = user;
            this.steps = steps;
            this.order = order;
        }
    }

    private final Config config;
    private final SplittableRandom random;
    private final ObjectMapper mapper = new ObjectMapper();
    private final Product[] products = new Product[PRODUCTS];
    private final User[] users;
    private final double[] cumulativeWeight;
    private final PriorityQueue<Session> due =
            new PriorityQueue<>(Comparator.comparingLong((Session s) -> s.due).thenComparingLong(s -> s.order));
    private final GeneratedRecord[] recent = new GeneratedRecord[DUPLICATE_WINDOW];
    private final double msPerRecord;
    private final long startMillis;
    private long sequence;
    private long recentCount;
    private long sessions;
    private long now;

    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong late = new AtomicLong();

    public TrafficGenerator(Config config) {
        this.config = config;
        this.random = new SplittableRandom(config.seed());
        this.msPerRecord = config.timeSpeed() * 1000.0 / config.eventsPerSecond();
        this.startMillis = config.simulatedStart().toEpochMilli();
        this.now = startMillis;
        for (int i = 0; i < PRODUCTS; i++) {
            int category = random.nextInt(CATEGORIES.length);
            String name = ADJECTIVES[random.nextInt(ADJECTIVES.length)] + " " + ITEMS[category];
            double price = Math.min(900, Math.max(3, Math.exp(3.4 + 0.9 * gaussian())));
            products[i] = new Product(String.format(Locale.ROOT, "prod-%04d", i + 1),
                    String.format(Locale.ROOT, "SKU-%c%05d", (char) ('A' + category), random.nextInt(100_000)),
                    name, category, Math.floor(price) + 0.99);
        }
        users = new User[config.users()];
        cumulativeWeight = new double[config.users()];
        double total = 0;
        for (int i = 0; i < users.length; i++) {
            String anonymousId = uuid();
            boolean anonymous = random.nextDouble() < 0.1;
            // Pareto activity: a few users visit far more often, and browse longer, than the long tail
            double activity = Math.min(MAX_ACTIVITY, Math.pow(1 - random.nextDouble(), -1 / 1.5));
            users[i] = new User(anonymous ? null : String.format(Locale.ROOT, "user-%06d", i + 1), anonymousId,
                    USER_AGENTS[random.nextInt(USER_AGENTS.length)], TIME_ZONES[i % TIME_ZONES.length], activity);
            total += activity;
            cumulativeWeight[i] = total;
        }
    }

    public Config config() {
        return config;
    }

    /** Simulated time of the latest record. */
    public Instant simulatedNow() {
        return Instant.ofEpochMilli(now);
    }

    public AtomicLong sent() {
        return sent;
    }

    public AtomicLong malformed() {
        return malformed;
    }

    public AtomicLong duplicates() {
        return duplicates;
    }

    public AtomicLong late() {
        return late;
    }

    public List<GeneratedRecord> nextBatch(int n) {
        List<GeneratedRecord> batch = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            batch.add(next());
        }
        return batch;
    }

    /**
     * Sends records at {@code eventsPerSecond} of wall time until {@code keepRunning} turns false,
     * then flushes. Pacing only decides when records are sent, never what they contain, so a run's
     * output is the same prefix of the seed's stream however fast the broker was; a producer that
     * fell behind is caught up in bursts.
     *
     * @throws IllegalStateException when the producer reports a failed send
     */
    public void runTo(Producer<byte[], byte[]> producer, String topic, BooleanSupplier keepRunning) {
        AtomicReference<Exception> failure = new AtomicReference<>();
        Callback callback = (metadata, e) -> {
            if (e != null) {
                failure.compareAndSet(null, e);
            }
        };
        double nanosPerRecord = 1e9 / config.eventsPerSecond();
        int chunk = (int) Math.max(1, config.eventsPerSecond() / 200); // about 5 ms worth per wake-up
        long start = System.nanoTime();
        long emitted = 0;
        while (keepRunning.getAsBoolean()) {
            Exception e = failure.get();
            if (e != null) {
                throw new IllegalStateException("Sending to " + topic + " failed: " + e.getMessage(), e);
            }
            long wait = start + (long) (emitted * nanosPerRecord) - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(Math.min(wait, TimeUnit.MILLISECONDS.toNanos(50)));
                continue;
            }
            for (GeneratedRecord r : nextBatch(chunk)) {
                producer.send(new ProducerRecord<>(topic, r.key(), r.value()), callback);
            }
            emitted += chunk;
        }
        producer.flush();
        Exception e = failure.get();
        if (e != null) {
            throw new IllegalStateException("Sending to " + topic + " failed: " + e.getMessage(), e);
        }
    }

    private GeneratedRecord next() {
        now = startMillis + (long) (sequence++ * msPerRecord);
        sent.incrementAndGet();
        double r = random.nextDouble();
        if (r < config.malformedRatio()) {
            malformed.incrementAndGet();
            return malformedRecord();
        }
        r -= config.malformedRatio();
        if (r < config.duplicateRatio() && recentCount > 0) {
            duplicates.incrementAndGet();
            GeneratedRecord original = recent[random.nextInt((int) Math.min(recentCount, DUPLICATE_WINDOW))];
            return new GeneratedRecord(original.key(), original.value(), Kind.DUPLICATE);
        }
        r -= config.duplicateRatio();
        if (r < config.lateRatio()) {
            late.incrementAndGet();
            User u = pickUser();
            long at = now - LATE_BY_MS + (long) ((random.nextDouble() - 0.5) * TimeUnit.MINUTES.toMillis(10));
            Step step = random.nextBoolean() ? categoryPage(random.nextInt(CATEGORIES.length))
                    : viewed(products[random.nextInt(PRODUCTS)]);
            return new GeneratedRecord(u.key, bytes(render(u, step, at)), Kind.LATE);
        }
        GeneratedRecord event = sessionEvent();
        recent[(int) (recentCount++ % DUPLICATE_WINDOW)] = event;
        return event;
    }

    private GeneratedRecord sessionEvent() {
        Session s = due.peek();
        if (s != null && s.due <= now) {
            due.poll();
        } else {
            User idle = idleUser();
            if (idle != null) {
                s = startSession(idle);
            } else if (s != null) {
                due.poll(); // every likely user is busy: pull the earliest session forward
            } else {
                s = startSession(leastRecentlyActive());
            }
        }
        Step step = s.steps.poll();
        User u = s.user;
        byte[] value = bytes(render(u, step, now));
        u.lastAt = now;
        if (s.steps.isEmpty()) {
            u.active = false;
        } else {
            s.due = now + gapMillis(step.meanGapSeconds());
            due.add(s);
        }
        return new GeneratedRecord(u.key, value, Kind.EVENT);
    }

    private Session startSession(User u) {
        u.active = true;
        return new Session(u, script(u), sessions++);
    }

    /** Weighted draws; a few tries are enough because most users are idle most of the time. */
    private User idleUser() {
        for (int i = 0; i < 16; i++) {
            User u = pickUser();
            if (!u.active && now - u.lastAt > SESSION_GAP_MS) {
                return u;
            }
        }
        return null;
    }

    /** Only reached with very few users for the rate; a linear scan is fine then. */
    private User leastRecentlyActive() {
        User best = null;
        for (User u : users) {
            if (!u.active && (best == null || u.lastAt < best.lastAt)) {
                best = u;
            }
        }
        return best;
    }

    private User pickUser() {
        double x = random.nextDouble() * cumulativeWeight[cumulativeWeight.length - 1];
        int i = Arrays.binarySearch(cumulativeWeight, x);
        return users[Math.min(users.length - 1, i >= 0 ? i : -i - 1)];
    }

    /**
     * One visit: a landing page, some product views, and for about half of the visits a cart. Of the
     * carts three quarters reach checkout and most of those an order, so roughly a third are
     * abandoned. A few adds come straight from a category page without a view, so the abandonment
     * pattern's "viewed before adding" condition is sometimes false.
     */
    private Deque<Step> script(User u) {
        Deque<Step> steps = new ArrayDeque<>();
        int category = random.nextInt(CATEGORIES.length);
        double landing = random.nextDouble();
        steps.add(landing < 0.4 ? page("Home", "/", "Home") : landing < 0.75 ? categoryPage(category) : searchPage());
        boolean cart = random.nextDouble() < 0.55;
        boolean quickAdd = cart && random.nextDouble() < 0.1;
        // longer visits for busier users: with many sessions per user (the defaults) the 30-minute
        // separation caps how often anyone can start one, so visit length is what sets heavy users apart
        int views = quickAdd ? 0 : 1 + (int) Math.min(39, -1.2 * u.activity * Math.log(1 - random.nextDouble()));
        Product last = null;
        for (int i = 0; i < views; i++) {
            if (i > 0 && random.nextDouble() < 0.35) {
                steps.add(random.nextBoolean() ? categoryPage(category) : searchPage());
            }
            last = product(category);
            steps.add(viewed(last));
        }
        if (!cart) {
            if (random.nextDouble() < 0.5) {
                steps.add(categoryPage(random.nextInt(CATEGORIES.length)));
            }
            return steps;
        }
        String cartId = "cart-" + hex(12);
        ArrayNode items = mapper.createArrayNode();
        if (quickAdd) {
            steps.add(categoryPage(category));
        }
        Product first = quickAdd || random.nextDouble() < 0.15 ? product(category) : last;
        steps.add(added(cartId, first, items));
        if (random.nextDouble() < 0.25) {
            Product second = product(category);
            steps.add(viewed(second));
            steps.add(added(cartId, second, items));
        }
        if (random.nextDouble() < 0.75) {
            String orderId = "ord-" + hex(12);
            steps.add(page("Cart", "/cart", "Your cart"));
            steps.add(track("Checkout Started", order(orderId, items, false), 60));
            steps.add(page("Checkout", "/checkout/payment", "Payment"));
            if (random.nextDouble() < 0.88) {
                steps.add(track("Order Completed", order(orderId, items, true), 10));
                steps.add(page("Order Confirmation", "/checkout/confirmation", "Thank you"));
            }
        }
        return steps;
    }

    private Product product(int preferredCategory) {
        for (int i = 0; i < 8 && random.nextDouble() < 0.6; i++) {
            Product p = products[random.nextInt(PRODUCTS)];
            if (p.category() == preferredCategory) {
                return p;
            }
        }
        return products[random.nextInt(PRODUCTS)];
    }

    private Step page(String name, String path, String title) {
        ObjectNode p = mapper.createObjectNode();
        p.put("path", path);
        p.put("url", SHOP + path);
        p.put("title", title + " | Example Shop");
        return new Step("page", name, p, 20);
    }

    private Step categoryPage(int category) {
        String name = CATEGORIES[category];
        return page("Category", "/c/" + name.toLowerCase(Locale.ROOT), name);
    }

    private Step searchPage() {
        String q = SEARCHES[random.nextInt(SEARCHES.length)];
        Step step = page("Search", "/search?q=" + q, "Search");
        step.properties().put("search", q);
        return step;
    }

    private Step track(String event, ObjectNode properties, double meanGapSeconds) {
        return new Step("track", event, properties, meanGapSeconds);
    }

    private Step viewed(Product p) {
        return track("Product Viewed", productNode(p), 40);
    }

    private Step added(String cartId, Product p, ArrayNode items) {
        int quantity = random.nextDouble() < 0.8 ? 1 : 2 + random.nextInt(3);
        ObjectNode props = mapper.createObjectNode().put("cart_id", cartId);
        props.setAll(productNode(p));
        props.put("quantity", quantity);
        items.add(productNode(p).put("quantity", quantity));
        return track("Product Added", props, 25);
    }

    private ObjectNode productNode(Product p) {
        return mapper.createObjectNode()
                .put("product_id", p.id())
                .put("sku", p.sku())
                .put("category", CATEGORIES[p.category()])
                .put("name", p.name())
                .put("price", p.price())
                .put("currency", "USD")
                .put("url", SHOP + "/p/" + p.id());
    }

    private ObjectNode order(String orderId, ArrayNode items, boolean completed) {
        double subtotal = 0;
        for (var item : items) {
            subtotal += item.get("price").asDouble() * item.get("quantity").asInt();
        }
        subtotal = cents(subtotal);
        ObjectNode props = mapper.createObjectNode().put("order_id", orderId);
        if (completed) {
            double shipping = subtotal >= 50 ? 0 : 4.95;
            double tax = cents(subtotal * 0.08);
            props.put("total", cents(subtotal + shipping + tax))
                    .put("revenue", subtotal)
                    .put("shipping", shipping)
                    .put("tax", tax);
        } else {
            props.put("value", subtotal).put("revenue", subtotal);
        }
        props.put("currency", "USD");
        props.set("products", items.deepCopy());
        return props;
    }

    private ObjectNode render(User u, Step step, long at) {
        ObjectNode e = mapper.createObjectNode();
        e.put("type", step.type());
        e.put(step.type().equals("track") ? "event" : "name", step.name());
        e.put("messageId", uuid());
        if (u.userId != null) {
            e.put("userId", u.userId);
        }
        e.put("anonymousId", u.anonymousId);
        e.put("timestamp", TIMESTAMP.format(Instant.ofEpochMilli(at)));
        e.set("properties", step.properties());
        ObjectNode context = e.putObject("context");
        context.putObject("library").put("name", "behavior-cep-generator").put("version", "1");
        context.put("userAgent", u.userAgent);
        context.put("timezone", u.timeZone);
        return e;
    }

    /** A page view broken in one of the ways real clients break events; the job must dead-letter it. */
    private GeneratedRecord malformedRecord() {
        User u = pickUser();
        ObjectNode e = render(u, categoryPage(random.nextInt(CATEGORIES.length)), now);
        byte[] value;
        switch (random.nextInt(4)) {
            case 0 -> {
                byte[] whole = bytes(e);
                value = Arrays.copyOf(whole, 1 + random.nextInt(whole.length - 1));
            }
            case 1 -> value = bytes(e.without("messageId"));
            case 2 -> value = bytes(e.put("timestamp", TIMESTAMP.format(Instant.ofEpochMilli(now + FUTURE_BY_MS))));
            default -> value = bytes(e.without(List.of("userId", "anonymousId")));
        }
        return new GeneratedRecord(u.key, value, Kind.MALFORMED);
    }

    private long gapMillis(double meanSeconds) {
        double seconds = 1 - meanSeconds * Math.log(1 - random.nextDouble());
        return Math.min(MAX_STEP_GAP_MS, (long) (seconds * 1000));
    }

    private double gaussian() {
        double u1 = 1 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Version-4-shaped but drawn from the seeded source, so messageIds repeat across runs of a seed. */
    private String uuid() {
        long hi = (random.nextLong() & ~0xF000L) | 0x4000L;
        long lo = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(hi, lo).toString();
    }

    private String hex(int digits) {
        StringBuilder b = new StringBuilder(digits);
        for (int i = 0; i < digits; i++) {
            b.append(Character.forDigit(random.nextInt(16), 16));
        }
        return b.toString();
    }

    private byte[] bytes(ObjectNode node) {
        try {
            return mapper.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double cents(double amount) {
        return Math.round(amount * 100) / 100.0;
    }
}
