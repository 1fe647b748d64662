package io.behaviorcep.trait;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.TraitDefinition;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Every trait function, over a window and since an event, computed from events as the profile operator hands them over. */
class TraitSetTest {
    static final long MIN = 60_000L;
    static final long HOUR = 60 * MIN;
    static final long DAY = 24 * HOUR;
    /** A Monday, 00:00 UTC: bucket boundaries fall on round offsets from it. */
    static final long T0 = 1_704_067_200_000L;

    static TraitSet traits(String... lines) {
        StringBuilder yaml = new StringBuilder("kind: traits\ntraits:\n");
        for (String l : lines) yaml.append("  - ").append(l).append('\n');
        PatternLoader.Result r = PatternLoader.loadString("t.yaml", yaml.toString());
        assertThat(r.problems()).isEmpty();
        return new TraitSet(r.traits());
    }

    static BehaviorEvent event(String name, long at, Map<String, String> properties) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = name;
        e.userKey = "u";
        e.messageId = name + at;
        e.timestamp = at;
        e.properties.putAll(properties);
        return e;
    }

    static BehaviorEvent add(long at, String price) {
        return event("Product Added", at, price == null ? Map.of() : Map.of("price", price, "category", "c" + price));
    }

    /** Every trait's value as of {@code asOf}. */
    static Map<String, String> values(TraitSet set, TraitCell[] cells, long asOf) {
        ProfileSnapshot p = new ProfileSnapshot();
        p.asOf = asOf;
        set.fill(p, cells);
        Map<String, String> out = new java.util.TreeMap<>();
        for (String id : set.ids()) {
            String v = p.field("traits." + id);
            if (v != null) out.put(id, v); // missing: left out
        }
        return out;
    }

    static final String SINCE = "event: Product Added, since: Order Completed";

    @Test
    void everyFunctionSinceAnEventStartsAfreshAtThatEvent() {
        TraitSet set = traits(
                "{id: n, function: count, " + SINCE + "}",
                "{id: total, function: sum, property: properties.price, " + SINCE + "}",
                "{id: low, function: min, property: properties.price, " + SINCE + "}",
                "{id: high, function: max, property: properties.price, " + SINCE + "}",
                "{id: first_price, function: first, property: properties.price, " + SINCE + "}",
                "{id: last_price, function: last, property: properties.price, " + SINCE + "}",
                "{id: kinds, function: distinct_count, property: properties.category, " + SINCE + "}");
        TraitCell[] c = null;
        assertThat(values(set, c, T0)).isEqualTo(Map.of("n", "0", "total", "0.0", "kinds", "0"));

        c = set.add(c, add(T0, "20"));
        c = set.add(c, add(T0 + MIN, "5.5"));
        c = set.add(c, add(T0 + 2 * MIN, "20"));
        c = set.add(c, add(T0 + 3 * MIN, "not a number")); // counted, but no number for sum/min/max
        c = set.add(c, add(T0 + 4 * MIN, null)); // no price: only count takes it
        c = set.add(c, event("Product Viewed", T0 + 5 * MIN, Map.of("price", "1000")));
        assertThat(values(set, c, T0 + 5 * MIN)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "n", "5", "total", "45.5", "low", "5.5", "high", "20.0",
                "first_price", "20", "last_price", "not a number", "kinds", "3"));

        c = set.add(c, event("Order Completed", T0 + 10 * MIN, Map.of("price", "1")));
        assertThat(values(set, c, T0 + 10 * MIN)).isEqualTo(Map.of("n", "0", "total", "0.0", "kinds", "0"));
        c = set.add(c, add(T0 + 11 * MIN, "7"));
        assertThat(values(set, c, T0 + 30 * DAY)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "n", "1", "total", "7.0", "low", "7.0", "high", "7.0", "first_price", "7", "last_price", "7", "kinds", "1"));
    }

    @Test
    void anHourlyWindowHoldsTheBucketOfItsTimeAndTheOnesBefore() {
        TraitSet set = traits(
                "{id: n, function: count, event: Product Added, window: 3h}",
                "{id: total, function: sum, event: Product Added, property: properties.price, window: 3h}",
                "{id: low, function: min, event: Product Added, property: properties.price, window: 3h}",
                "{id: high, function: max, event: Product Added, property: properties.price, window: 3h}",
                "{id: first_price, function: first, event: Product Added, property: properties.price, window: 3h}",
                "{id: last_price, function: last, event: Product Added, property: properties.price, window: 3h}",
                "{id: kinds, function: distinct_count, event: Product Added, property: properties.category, window: 3h}");
        TraitCell[] c = null;
        c = set.add(c, add(T0 + 10 * MIN, "10"));         // hour 0
        c = set.add(c, add(T0 + HOUR + 5 * MIN, "30"));   // hour 1
        c = set.add(c, add(T0 + 2 * HOUR + 59 * MIN, "10")); // hour 2
        assertThat(values(set, c, T0 + 2 * HOUR + 59 * MIN)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "n", "3", "total", "50.0", "low", "10.0", "high", "30.0", "first_price", "10", "last_price", "10", "kinds", "2"));
        // at hour 3 the window is hours 1..3: the first add has left it, with time alone
        assertThat(values(set, c, T0 + 3 * HOUR)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "n", "2", "total", "40.0", "low", "10.0", "high", "30.0", "first_price", "30", "last_price", "10", "kinds", "2"));
        // hour 4: only the third add
        assertThat(values(set, c, T0 + 4 * HOUR)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "n", "1", "total", "10.0", "low", "10.0", "high", "10.0", "first_price", "10", "last_price", "10", "kinds", "1"));
        // an add at hour 7 recycles the buckets the ring held
        c = set.add(c, add(T0 + 7 * HOUR, "2"));
        assertThat(values(set, c, T0 + 7 * HOUR)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "n", "1", "total", "2.0", "low", "2.0", "high", "2.0", "first_price", "2", "last_price", "2", "kinds", "1"));
        assertThat(values(set, c, T0 + 10 * HOUR)).isEqualTo(Map.of("n", "0", "total", "0.0", "kinds", "0"));
    }

    @Test
    void aWindowOverTwoDaysIsKeptInUtcDays() {
        TraitSet set = traits("{id: total, function: sum, event: Product Added, property: properties.price, window: 7d}");
        TraitDefinition d = set.traits().get(0);
        assertThat(d.bucketMillis()).isEqualTo(DAY);
        assertThat(d.buckets()).isEqualTo(7);
        TraitCell[] c = null;
        c = set.add(c, add(T0 + 23 * HOUR, "1"));          // day 0
        c = set.add(c, add(T0 + 6 * DAY + HOUR, "2"));     // day 6
        assertThat(values(set, c, T0 + 6 * DAY + 23 * HOUR)).containsEntry("total", "3.0");
        assertThat(values(set, c, T0 + 7 * DAY)).containsEntry("total", "2.0"); // day 0 left at the UTC midnight
        assertThat(values(set, c, T0 + 13 * DAY)).containsEntry("total", "0.0");
        assertThat(set.nextBreakpoint(c, T0 + 6 * DAY + 2 * HOUR, java.util.Set.of("total"))).isEqualTo(T0 + 7 * DAY);
        assertThat(set.nextBreakpoint(c, T0 + 13 * DAY, java.util.Set.of("total"))).isEqualTo(Long.MAX_VALUE);
        assertThat(set.nextBreakpoint(c, T0 + 6 * DAY, java.util.Set.of())).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aWhereConditionAndTheAnyEventFilterDecideWhichEventsCount() {
        TraitSet set = traits(
                "{id: big_adds, function: count, event: Product Added, where: properties.price >= 100, window: 24h}",
                "{id: events, function: count, event: '*', window: 1h}");
        TraitCell[] c = null;
        c = set.add(c, add(T0, "150"));
        c = set.add(c, add(T0 + MIN, "99"));
        c = set.add(c, event("Signed Up", T0 + 2 * MIN, Map.of()));
        assertThat(values(set, c, T0 + 2 * MIN)).isEqualTo(Map.of("big_adds", "1", "events", "3"));
    }

    @Test
    void distinctCountIsExactUpToItsBoundAndStaysThereBeyond() {
        TraitSet set = traits(
                "{id: kinds, function: distinct_count, event: Product Added, property: properties.category, since: Order Completed}",
                "{id: kinds_1h, function: distinct_count, event: Product Added, property: properties.category, window: 1h}");
        TraitCell[] c = null;
        for (int i = 0; i < TraitSet.MAX_DISTINCT + 50; i++) {
            c = set.add(c, event("Product Added", T0 + i, Map.of("category", "k" + i)));
            c = set.add(c, event("Product Added", T0 + i, Map.of("category", "k" + i))); // repeated: counted once
        }
        String bound = Integer.toString(TraitSet.MAX_DISTINCT);
        assertThat(values(set, c, T0 + HOUR - 1)).isEqualTo(Map.of("kinds", bound, "kinds_1h", bound));
        assertThat(c[0].hashes.length).isEqualTo(TraitSet.MAX_DISTINCT);
        // the windowed one makes room when the old values leave the window
        c = set.add(c, event("Product Added", T0 + 2 * HOUR, Map.of("category", "new")));
        assertThat(values(set, c, T0 + 2 * HOUR)).isEqualTo(Map.of("kinds", bound, "kinds_1h", "1"));
    }

    @Test
    void aChangedDefinitionStartsFromEmptyAndAnUnchangedOneKeepsItsState() {
        TraitSet before = traits(
                "{id: total, function: sum, property: properties.price, " + SINCE + "}",
                "{id: n, function: count, " + SINCE + "}");
        TraitCell[] c = before.add(null, add(T0, "10"));
        c = before.add(c, add(T0 + 1, "5"));
        TraitSet after = traits(
                "{id: n, function: count, " + SINCE + "}",
                "{id: total, function: max, property: properties.price, " + SINCE + "}");
        assertThat(values(after, c, T0 + 1)).isEqualTo(Map.of("n", "2"));
        c = after.add(c, add(T0 + 2, "3"));
        assertThat(values(after, c, T0 + 2)).isEqualTo(Map.of("n", "3", "total", "3.0"));
        assertThat(c).hasSize(2);
        assertThat(new TraitSet(List.of()).add(c, add(T0 + 3, "1"))).as("no traits: no state").isNull();
    }

    @Test
    void longValuesAreCutAndEventsOlderThanTheWindowAreIgnored() {
        TraitSet set = traits(
                "{id: last_name, function: last, event: Product Added, property: properties.name, since: Order Completed}",
                "{id: n, function: count, event: Product Added, window: 2h}");
        String huge = "x".repeat(10_000);
        TraitCell[] c = set.add(null, event("Product Added", T0 + 5 * HOUR, Map.of("name", huge)));
        c = set.add(c, event("Product Added", T0, Map.of("name", "late"))); // 5 h before the newest: outside the 2 h window
        assertThat(values(set, c, T0 + 5 * HOUR).get("n")).isEqualTo("1");
        assertThat(c[0].last).isEqualTo("late");
        c = set.add(c, event("Product Added", T0 + 6 * HOUR, Map.of("name", huge)));
        assertThat(c[0].last).hasSize(TraitSet.MAX_VALUE_CHARS);
    }
}
