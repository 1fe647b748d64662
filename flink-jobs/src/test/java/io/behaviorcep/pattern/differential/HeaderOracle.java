package io.behaviorcep.pattern.differential;

import io.behaviorcep.event.BehaviorEvent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.ADDED;
import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.CHECKOUT;
import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.ORDER;
import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.VIEWED;

/**
 * A third opinion, without Flink: the patterns' header semantics computed by brute force over each
 * user's events, in stream order (events of the same millisecond count in the order they arrive,
 * as Flink CEP processes them). Produces the same canonical strings as the CEP runs; checks that
 * the hand-written patterns themselves say what the headers say.
 */
final class HeaderOracle {
    private static final long M = 60_000L;

    private HeaderOracle() {}

    static final Map<String, Function<List<BehaviorEvent>, List<String>>> PATTERNS = new LinkedHashMap<>();

    static {
        PATTERNS.put("cart-abandonment", HeaderOracle::cartAbandonment);
        PATTERNS.put("checkout-abandonment", HeaderOracle::checkoutAbandonment);
        PATTERNS.put("high-intent-burst", HeaderOracle::highIntentBurst);
        PATTERNS.put("repeat-view-no-purchase", HeaderOracle::repeatViewNoPurchase);
        PATTERNS.put("dormancy-14d", HeaderOracle::dormancy);
        PATTERNS.put("engagement-decay", HeaderOracle::engagementDecay);
    }

    /** Matches of all users; {@code events} sorted by time, ties in arrival order. */
    static List<String> matches(String id, List<BehaviorEvent> events) {
        return matches(PATTERNS.get(id), events);
    }

    static List<String> matches(Function<List<BehaviorEvent>, List<String>> pattern, List<BehaviorEvent> events) {
        Map<String, List<BehaviorEvent>> byUser = events.stream()
                .collect(Collectors.groupingBy(e -> e.userKey, TreeMap::new, Collectors.toList()));
        List<String> out = new ArrayList<>();
        for (List<BehaviorEvent> mine : byUser.values()) out.addAll(pattern.apply(mine));
        return out;
    }

    /** Each (view, add) with view before add and at most 30m earlier, and no order after the add within 15m. */
    static List<String> cartAbandonment(List<BehaviorEvent> u) {
        List<String> out = new ArrayList<>();
        for (int a = 0; a < u.size(); a++) {
            if (!ADDED.equals(u.get(a).event) || anyAfter(u, a, 15 * M, e -> ORDER.equals(e.event))) continue;
            for (int v = 0; v < a; v++) {
                if (VIEWED.equals(u.get(v).event) && u.get(a).timestamp - u.get(v).timestamp <= 30 * M) {
                    out.add(match(u.get(a).userKey, "added", List.of(u.get(a)), "viewed", List.of(u.get(v))));
                }
            }
        }
        return out;
    }

    static List<String> checkoutAbandonment(List<BehaviorEvent> u) {
        List<String> out = new ArrayList<>();
        for (int c = 0; c < u.size(); c++) {
            if (CHECKOUT.equals(u.get(c).event) && !anyAfter(u, c, 30 * M, e -> ORDER.equals(e.event))) {
                out.add(match(u.get(c).userKey, "checkout", List.of(u.get(c))));
            }
        }
        return out;
    }

    static List<String> dormancy(List<BehaviorEvent> u) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < u.size(); i++) {
            if (!anyAfter(u, i, Duration.ofDays(14).toMillis(), e -> true)) out.add(match(u.get(i).userKey, "last_event", List.of(u.get(i))));
        }
        return out;
    }

    static List<String> engagementDecay(List<BehaviorEvent> u) {
        return u.stream().filter(e -> e.profile != null && e.profile.decayWeeks >= 2)
                .map(e -> match(e.userKey, "active", List.of(e))).collect(Collectors.toList());
    }

    /**
     * Five adds in a row (of the user's adds) spanning at most 10m; the earliest-completing burst
     * wins and the next one starts after it.
     */
    static List<String> highIntentBurst(List<BehaviorEvent> u) {
        List<BehaviorEvent> adds = u.stream().filter(e -> ADDED.equals(e.event)).collect(Collectors.toList());
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int last = from + 4; last < adds.size(); last++) {
            if (last - 4 < from) continue;
            if (adds.get(last).timestamp - adds.get(last - 4).timestamp <= 10 * M) {
                out.add(match(u.get(0).userKey, "adds", adds.subList(last - 4, last + 1)));
                from = last + 1;
                last = from + 3;
            }
        }
        return out;
    }

    /**
     * From a view f: the next view of the same product, then the next one, no add of it and no
     * order line of it in between, the third at most 24h after f. Views of a match are not reused:
     * the next match starts after its third view.
     *
     * <p>Which of overlapping candidates is the match? Flink CEP under skip-past-last-event emits
     * completed matches in the order of their first event and holds a completed match back while an
     * earlier-started partial match is still open; emitting one prunes everything that started
     * before its last event. So the candidate with the earliest FIRST view wins, even if another one
     * reached its third view earlier ({@code byFirstView}). The header's "one alert at the third
     * view" reads as: the candidate whose THIRD view comes first wins ({@code !byFirstView}).
     */
    /**
     * Every view starts a run: the next two views of the same product, with no purchase of it in
     * between, the third at most 24h after the first. No skipping: runs may share views.
     */
    static List<String> repeatViewNoPurchase(List<BehaviorEvent> u) {
        List<String> out = new ArrayList<>();
        for (int f = 0; f < u.size(); f++) {
            if (!VIEWED.equals(u.get(f).event)) continue;
            String p = u.get(f).property("product_id");
            int s = nextViewWithoutPurchase(u, f, p);
            if (s < 0) continue;
            int t = nextViewWithoutPurchase(u, s, p);
            if (t < 0 || u.get(t).timestamp - u.get(f).timestamp > 24 * 60 * M) continue;
            out.add(match(u.get(0).userKey, "first_view", List.of(u.get(f)), "second_view", List.of(u.get(s)),
                    "third_view", List.of(u.get(t))));
        }
        return out;
    }

    /** Index of the next view of {@code p} after {@code i}, or -1 if a purchase of p comes first (or none). */
    private static int nextViewWithoutPurchase(List<BehaviorEvent> u, int i, String p) {
        for (int j = i + 1; j < u.size(); j++) {
            BehaviorEvent e = u.get(j);
            if (HandWrittenPatterns.purchases(e, p)) return -1;
            if (VIEWED.equals(e.event) && Objects.equals(p, e.property("product_id"))) return j;
        }
        return -1;
    }

    /** Whether an event after index i (in stream order) and at most {@code window} after it matches. */
    private static boolean anyAfter(List<BehaviorEvent> u, int i, long window, java.util.function.Predicate<BehaviorEvent> p) {
        for (int j = i + 1; j < u.size() && u.get(j).timestamp - u.get(i).timestamp <= window; j++) {
            if (p.test(u.get(j))) return true;
        }
        return false;
    }

    private static String match(String user, Object... stepsAndEvents) {
        Map<String, List<BehaviorEvent>> m = new TreeMap<>();
        for (int i = 0; i < stepsAndEvents.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<BehaviorEvent> es = (List<BehaviorEvent>) stepsAndEvents[i + 1];
            m.put((String) stepsAndEvents[i], es);
        }
        return CompiledPatternsDifferentialTest.canonical(m);
    }
}
