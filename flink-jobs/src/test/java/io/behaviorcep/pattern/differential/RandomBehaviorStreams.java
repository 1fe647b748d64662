package io.behaviorcep.pattern.differential;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Seeded random event streams for the differential test: a few users doing e-commerce things, with
 * the gaps between events drawn so that the shipped patterns' window edges are hit exactly (gap or
 * distance to a recent earlier event of exactly 10m, 15m, 30m, 24h, 14d, and 1 ms less or more),
 * bursts of adds, repeated products, orders with {@code products.N.product_id}, events of other
 * types (page, identify without a name) and profiles with {@code decay_weeks} 0..2 or none.
 */
final class RandomBehaviorStreams {
    static final String VIEWED = "Product Viewed";
    static final String ADDED = "Product Added";
    static final String CHECKOUT = "Checkout Started";
    static final String ORDER = "Order Completed";
    static final String PAGE = "Page";

    /** The windows of the shipped patterns: the distances whose edges must be hit. */
    static final long[] EDGES = {
            Duration.ofMinutes(10).toMillis(), Duration.ofMinutes(15).toMillis(), Duration.ofMinutes(30).toMillis(),
            Duration.ofHours(24).toMillis(), Duration.ofDays(14).toMillis()};
    private static final long MIN = 60_000L;
    private static final String[] PRODUCTS = {"p1", "p2", "p3", "p4"};
    private static final Instant START = Instant.parse("2024-03-04T00:00:00Z");

    private RandomBehaviorStreams() {}

    /**
     * About {@code users * eventsPerUser} events of users {@code s<seed>-u<n>}, sorted by time (ties in
     * generation order). Message ids {@code s<seed>-<000000>} sort in generation order.
     */
    static List<BehaviorEvent> generate(int seed, int users, int eventsPerUser) {
        Random rnd = new Random(seed);
        List<BehaviorEvent> all = new ArrayList<>();
        int[] seq = {0};
        for (int u = 0; u < users; u++) {
            String user = "s" + seed + "-u" + String.format("%02d", u);
            List<BehaviorEvent> mine = new ArrayList<>();
            long t = START.toEpochMilli() + (long) (rnd.nextDouble() * Duration.ofDays(2).toMillis());
            int n = eventsPerUser / 2 + rnd.nextInt(eventsPerUser + 1);
            int burstLeft = 0;
            for (int i = 0; i < n; i++) {
                String name;
                if (burstLeft > 0) {
                    name = ADDED;
                    burstLeft--;
                } else {
                    name = pickName(rnd);
                    if (ADDED.equals(name) && rnd.nextInt(12) == 0) burstLeft = 3 + rnd.nextInt(5);
                }
                if (i > 0) t = nextTime(rnd, mine, t, burstLeft > 0 || (ADDED.equals(name) && burstLeft == 0 && rnd.nextBoolean()));
                mine.add(event(rnd, user, seed, seq[0]++, name, t));
            }
            all.addAll(mine);
        }
        all.sort(Comparator.comparingLong((BehaviorEvent e) -> e.timestamp).thenComparing(e -> e.messageId));
        return all;
    }

    private static String pickName(Random rnd) {
        int r = rnd.nextInt(100);
        if (r < 33) return VIEWED;
        if (r < 55) return ADDED;
        if (r < 66) return CHECKOUT;
        if (r < 78) return ORDER;
        if (r < 95) return PAGE;
        return null; // identify, no event name
    }

    private static long nextTime(Random rnd, List<BehaviorEvent> mine, long last, boolean bursty) {
        int r = rnd.nextInt(1000);
        if (r < 300) {
            // exactly an edge (or 1 ms either side) after one of the last few events of the user
            BehaviorEvent anchor = mine.get(Math.max(0, mine.size() - 1 - rnd.nextInt(Math.min(8, mine.size()))));
            long edge = EDGES[rnd.nextInt(100) < 3 ? 4 : rnd.nextInt(4)];
            long candidate = anchor.timestamp + edge + (rnd.nextInt(3) - 1);
            if (candidate >= last) return candidate;
        }
        if (r < 360) {
            // exactly an edge (or 1 ms either side) after the previous event
            long edge = EDGES[rnd.nextInt(100) < 15 ? 4 : rnd.nextInt(4)];
            return last + edge + (rnd.nextInt(3) - 1);
        }
        if (r < 400) return last;               // same millisecond
        if (r < 420) return last + 1;
        if (bursty || r < 750) return last + 1000 + (long) (rnd.nextDouble() * 3 * MIN);
        if (r < 920) return last + 3 * MIN + (long) (rnd.nextDouble() * 40 * MIN);
        if (r < 985) return last + Duration.ofHours(1).toMillis() + (long) (rnd.nextDouble() * Duration.ofHours(30).toMillis());
        return last + Duration.ofDays(13).toMillis() + (long) (rnd.nextDouble() * Duration.ofDays(3).toMillis());
    }

    private static BehaviorEvent event(Random rnd, String user, int seed, int seq, String name, long t) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = "s" + seed + "-" + String.format("%06d", seq);
        e.userKey = user;
        e.userId = user;
        e.event = name;
        e.type = name == null ? "identify" : name.equals(PAGE) ? "page" : "track";
        e.timestamp = t;
        String product = PRODUCTS[rnd.nextInt(PRODUCTS.length)];
        if (name != null) {
            switch (name) {
                case VIEWED -> {
                    e.properties.put("product_id", product);
                    e.properties.put("price", Integer.toString(5 + rnd.nextInt(50)));
                }
                case ADDED -> {
                    e.properties.put("product_id", product);
                    e.properties.put("name", "Item " + product);
                    e.properties.put("price", Integer.toString(5 + rnd.nextInt(50)));
                }
                case CHECKOUT -> {
                    e.properties.put("checkout_id", "c" + seq);
                    e.properties.put("value", Integer.toString(10 + rnd.nextInt(200)));
                }
                case ORDER -> {
                    e.properties.put("order_id", "o" + seq);
                    int k = rnd.nextInt(4);
                    for (int j = 0; j < k; j++) {
                        // now and then a line without product_id, or the id under a look-alike key
                        int kind = rnd.nextInt(10);
                        String p = PRODUCTS[rnd.nextInt(PRODUCTS.length)];
                        if (kind == 0) e.properties.put("products." + j + ".sku", p);
                        else if (kind == 1) e.properties.put("products." + j + ".variant.product_id", p);
                        else e.properties.put("products." + j + ".product_id", p);
                        e.properties.put("products." + j + ".price", Integer.toString(5 + rnd.nextInt(50)));
                    }
                    if (rnd.nextInt(10) == 0) e.properties.put("product_id", product); // not an order line
                }
                case PAGE -> e.properties.put("path", "/" + product);
                default -> { }
            }
        }
        int p = rnd.nextInt(10);
        if (p > 0) {
            e.profile = new ProfileSnapshot();
            e.profile.decayWeeks = p <= 6 ? 0 : p <= 8 ? 1 : 2;
        }
        return e;
    }
}
