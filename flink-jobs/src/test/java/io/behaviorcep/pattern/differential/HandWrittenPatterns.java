package io.behaviorcep.pattern.differential;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.cep.nfa.aftermatch.AfterMatchSkipStrategy;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.cep.pattern.WithinType;
import org.apache.flink.cep.pattern.conditions.IterativeCondition;
import org.apache.flink.cep.pattern.conditions.SimpleCondition;

import java.io.Serializable;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;

import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.ADDED;
import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.CHECKOUT;
import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.ORDER;
import static io.behaviorcep.pattern.differential.RandomBehaviorStreams.VIEWED;

/**
 * The shipped patterns written by hand with Flink's Pattern API, from the semantics stated in each
 * file's header comment only (not from its steps, and without the project's compiler or condition
 * language). Step names are the files' step names so that matches can be compared.
 *
 * <p>Windows that bound a positive step are checked in that step's condition ({@code <= window},
 * inclusive by construction), so the compiler's "+1 ms" {@code within} is checked against an
 * independent formulation. An absence can only be bounded by {@code within}: Flink times a partial
 * match out when {@code now - from >= window}, so "no X in (t, t + W]" is {@code within(W + 1 ms)}
 * measured from t.
 *
 * <p>Every pattern that can time out also has a whole-pattern window ({@code within(d)}, first to
 * last), for two reasons of Flink CEP 2.2's operator, both observed while writing this test:
 * <ul>
 *   <li>it registers a timeout timer only for that window (at start + window, when a partial match
 *       starts); a step window ({@link WithinType#PREVIOUS_AND_CURRENT}) is only looked at when some
 *       other timer of the key fires, i.e. when the user sends another event. A trailing absence
 *       bounded only by a step window is therefore never reported for a user who goes quiet.</li>
 *   <li>under a skip strategy a completed match is held back while an earlier-started partial match
 *       is alive, so partial matches that can no longer complete must time out.</li>
 * </ul>
 */
final class HandWrittenPatterns {
    private HandWrittenPatterns() {}

    /**
     * a `Product Added` at t, with a `Product Viewed` in [t - 30m, t], and no `Order Completed` in
     * (t, t + 15m]; every (view, add) pair is a match (noSkip; every add after a view is a candidate).
     */
    static Pattern<BehaviorEvent, ?> cartAbandonment() {
        long w = Duration.ofMinutes(30).toMillis();
        return Pattern.<BehaviorEvent>begin("viewed", AfterMatchSkipStrategy.noSkip())
                .where(named(VIEWED))
                .followedByAny("added")
                .where(cond((e, ctx) -> ADDED.equals(e.event) && within(only(ctx, "viewed"), e, w)))
                .notFollowedBy("no_order")
                .where(named(ORDER))
                .within(Duration.ofMinutes(15).plusMillis(1), WithinType.PREVIOUS_AND_CURRENT)
                // view -> add <= 30m, add -> deadline 15m: a whole match spans at most 45m; this only
                // adds the timer that reports the absence (see the class comment), it cuts nothing
                .within(Duration.ofMinutes(45).plusMillis(1), WithinType.FIRST_AND_LAST);
    }

    /** a `Checkout Started` at t and no `Order Completed` in (t, t + 30m]. */
    static Pattern<BehaviorEvent, ?> checkoutAbandonment() {
        // two steps: from the first event is from the previous one, so the classic pattern window
        return Pattern.<BehaviorEvent>begin("checkout")
                .where(named(CHECKOUT))
                .notFollowedBy("no_order")
                .where(named(ORDER))
                .within(Duration.ofMinutes(30).plusMillis(1));
    }

    /** an event at t and no event in (t, t + 14d]. */
    static Pattern<BehaviorEvent, ?> dormancy14d() {
        return Pattern.<BehaviorEvent>begin("last_event")
                .where(SimpleCondition.of(e -> true))
                .notFollowedBy("silence")
                .where(SimpleCondition.of(e -> true))
                .within(Duration.ofDays(14).plusMillis(1));
    }

    /**
     * 5 `Product Added` within 10 minutes, first to fifth inclusive; the adds of a match are not
     * reused (skip past the last event).
     */
    static Pattern<BehaviorEvent, ?> highIntentBurst() {
        long w = Duration.ofMinutes(10).toMillis();
        return Pattern.<BehaviorEvent>begin("adds", AfterMatchSkipStrategy.skipPastLastEvent())
                .where(cond((e, ctx) -> {
                    if (!ADDED.equals(e.event)) return false;
                    Iterator<BehaviorEvent> before = ctx.getEventsForPattern("adds").iterator();
                    return !before.hasNext() || e.timestamp - before.next().timestamp <= w;
                }))
                .times(5)
                .within(Duration.ofMinutes(10).plusMillis(1));
    }

    /**
     * three `Product Viewed` of the same product within 24h (first to third inclusive), no `Product
     * Added` of it and no `Order Completed` containing it ({@code products.N.product_id}) between the
     * first and the third view; views of a match are not reused (skip past the last event).
     */
    static Pattern<BehaviorEvent, ?> repeatViewNoPurchase() {
        long w = Duration.ofHours(24).toMillis();
        // no after-match skipping, as in the file: every qualifying third view is a match
        return Pattern.<BehaviorEvent>begin("first_view", AfterMatchSkipStrategy.noSkip())
                .where(named(VIEWED))
                .notFollowedBy("no_purchase_before_second")
                .where(cond((e, ctx) -> purchases(e, product(ctx))))
                .followedBy("second_view")
                .where(cond((e, ctx) -> VIEWED.equals(e.event) && Objects.equals(e.property("product_id"), product(ctx))))
                .notFollowedBy("no_purchase_before_third")
                .where(cond((e, ctx) -> purchases(e, product(ctx))))
                .followedBy("third_view")
                .where(cond((e, ctx) -> VIEWED.equals(e.event) && Objects.equals(e.property("product_id"), product(ctx))
                        && within(only(ctx, "first_view"), e, w)))
                .within(Duration.ofHours(24).plusMillis(1));
    }

    /** any event of a user whose profile says two decayed weeks in a row (decay_weeks >= 2). */
    static Pattern<BehaviorEvent, ?> engagementDecay() {
        return Pattern.<BehaviorEvent>begin("active").where(SimpleCondition.of(e -> e.profile != null && e.profile.decayWeeks >= 2));
    }

    // ------------------------------------------------------------------------------------------

    private static String product(IterativeCondition.Context<BehaviorEvent> ctx) throws Exception {
        BehaviorEvent first = only(ctx, "first_view");
        return first == null ? null : first.property("product_id");
    }

    private static boolean within(BehaviorEvent from, BehaviorEvent e, long window) {
        return from != null && e.timestamp - from.timestamp <= window;
    }

    /** A `Product Added` of the product, or an `Order Completed` with an order line of it. */
    static boolean purchases(BehaviorEvent e, String product) {
        if (product == null) return false;
        if (ADDED.equals(e.event)) return product.equals(e.property("product_id"));
        if (!ORDER.equals(e.event)) return false;
        for (Map.Entry<String, String> p : e.properties.entrySet()) {
            if (p.getKey().matches("products\\.\\d+\\.product_id") && product.equals(p.getValue())) return true;
        }
        return false;
    }

    private static SimpleCondition<BehaviorEvent> named(String event) {
        return SimpleCondition.of(e -> event.equals(e.event));
    }

    /**
     * The one event of a single-event step; null while it is not bound yet (Flink also evaluates
     * the conditions of the states after a step while probing whether that step's event can
     * proceed to the end, before the step's own event is bound).
     */
    private static BehaviorEvent only(IterativeCondition.Context<BehaviorEvent> ctx, String step) throws Exception {
        Iterator<BehaviorEvent> it = ctx.getEventsForPattern(step).iterator();
        if (!it.hasNext()) return null;
        BehaviorEvent e = it.next();
        if (it.hasNext()) throw new IllegalStateException(step + " binds more than one event");
        return e;
    }

    interface Cond extends Serializable {
        boolean test(BehaviorEvent e, IterativeCondition.Context<BehaviorEvent> ctx) throws Exception;
    }

    private static IterativeCondition<BehaviorEvent> cond(Cond c) {
        return new IterativeCondition<>() {
            @Override
            public boolean filter(BehaviorEvent e, Context<BehaviorEvent> ctx) throws Exception {
                return c.test(e, ctx);
            }
        };
    }
}
