package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bound on one user's open partial matches per pattern ({@code engine.max-runs-per-user-pattern}).
 * One user sending 1,500 views and then 1,500 adds of the same product within half an hour: with
 * {@code followed_by_any} every add pairs with every open view, about 1.1 million runs, each one
 * evaluated again at every event; Flink CEP has no bound either. With the bound the user costs at
 * most the bound per event, and a user under it gets exactly Flink CEP's matches.
 */
class RunBoundTest {
    static final long T0 = 1_767_000_000_000L;
    static final long MIN = 60_000L;
    static final int CAP = PatternEngineFunction.DEFAULT_MAX_RUNS_PER_USER_PATTERN;

    static PatternDefinition shipped(String id) {
        return PatternLoader.load(Repo.patterns().resolve(id + ".yaml")).orThrow().get(0);
    }

    static BehaviorEvent event(String user, String name, long ts, String product) {
        BehaviorEvent e = new BehaviorEvent();
        e.userKey = user;
        e.userId = user;
        e.messageId = user + "@" + ts;
        e.type = "track";
        e.event = name;
        e.timestamp = ts;
        e.properties.put("product_id", product);
        e.properties.put("price", "20");
        return e;
    }

    /** One user's stream through the engine as the operator drives it; the most open runs seen, and the matches. */
    record Outcome(int maxOpen, long overflowed, List<String> matches) {
    }

    static Outcome run(CompiledPattern p, List<BehaviorEvent> events, long endOfTime, int cap) {
        PatternRuns runs = PatternEngine.initial(p);
        List<Map<String, List<BehaviorEvent>>> found = new ArrayList<>();
        int maxOpen = 0;
        long overflowed = 0;
        int seq = 0;
        for (BehaviorEvent e : events) {
            PatternEngine.advanceTime(p, runs, e.timestamp, found);
            overflowed += PatternEngine.process(p, runs, e, e.timestamp, seq++, null, found, cap);
            int open = 0;
            for (Run r : runs.partial) if (r.hasStartId()) open++;
            maxOpen = Math.max(maxOpen, open);
        }
        PatternEngine.advanceTime(p, runs, endOfTime, found);
        List<String> matches = new ArrayList<>();
        for (Map<String, List<BehaviorEvent>> m : found) {
            StringBuilder sb = new StringBuilder();
            m.forEach((step, evs) -> evs.forEach(ev -> sb.append(step).append('=').append(ev.messageId).append(' ')));
            matches.add(sb.toString().trim());
        }
        return new Outcome(maxOpen, overflowed, matches);
    }

    @Test
    void aUserWith1500ViewsThen1500AddsStaysWithinTheBound() {
        CompiledPattern p = new CompiledPattern(shipped("cart-abandonment"));
        List<BehaviorEvent> events = new ArrayList<>();
        // 3,000 events in 25 minutes: views every 500 ms, then adds every 500 ms, all of one product
        for (int i = 0; i < 1500; i++) events.add(event("heavy", "Product Viewed", T0 + i * 500L, "p1"));
        for (int i = 0; i < 1500; i++) events.add(event("heavy", "Product Added", T0 + 750_000L + i * 500L, "p1"));
        long end = T0 + 750_000L + 1500 * 500L + 16 * MIN;

        long t = System.nanoTime();
        Outcome bounded = run(p, events, end, CAP);
        System.out.printf("1,500 views + 1,500 adds of one user, bound %d: at most %d open runs, %d dropped, %d matches, %d ms%n",
                CAP, bounded.maxOpen(), bounded.overflowed(), bounded.matches().size(), (System.nanoTime() - t) / 1_000_000);

        assertThat(bounded.maxOpen()).isLessThanOrEqualTo(CAP);
        assertThat(bounded.overflowed()).as("runs dropped oldest first").isPositive();
        // what is kept still decides: view + add pairs whose 15 minutes without an order passed
        assertThat(bounded.matches()).isNotEmpty()
                .allSatisfy(m -> assertThat(m).matches("viewed=heavy@\\d+ added=heavy@\\d+"));
        assertThat(run(p, events, end, CAP)).as("deterministic").isEqualTo(bounded);
    }

    @Test
    void underTheBoundTheMatchesAreFlinkCepsUnbounded() {
        for (String id : List.of("cart-abandonment", "checkout-abandonment", "high-intent-burst")) {
            CompiledPattern p = new CompiledPattern(shipped(id));
            List<BehaviorEvent> events = new ArrayList<>();
            // an ordinary busy session: 30 views of 5 products, some adds, a checkout, no order
            String[] names = {"Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started"};
            for (int i = 0; i < 60; i++) events.add(event("u", names[i % names.length], T0 + i * 20_000L, "p" + (i % 5)));
            long end = T0 + 60 * 20_000L + 24 * 60 * MIN;
            Outcome unbounded = run(p, events, end, Integer.MAX_VALUE);
            Outcome bounded = run(p, events, end, CAP);
            assertThat(unbounded.maxOpen()).as(id + ": an ordinary user stays under the bound").isLessThanOrEqualTo(CAP);
            assertThat(bounded.overflowed()).isZero();
            assertThat(bounded.matches()).as(id).isEqualTo(unbounded.matches());
        }
    }
}
