package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What the engine keeps of a bound event: the fields some pattern reads of earlier steps, nothing else of the maps. */
class EventProjectionTest {

    static PatternDefinition pattern(String yaml) {
        return PatternLoader.loadString("p.yaml", yaml).orThrow().get(0);
    }

    static final PatternDefinition REPEAT = pattern("""
            id: repeat
            version: 1
            within: 24h
            steps:
              - {name: first, event: Product Viewed}
              - name: second
                event: Product Viewed
                where: [properties.product_id == first.properties.product_id]
              - name: third
                event: Order Completed
                where: ["properties.products.*.sku == first.properties.sku", "sum(second.properties.price) > 10"]
            actions:
              alert: {type: repeat, payload: {name: '${first.properties.name}', zone: 'at ${third.context.page.url}'}}
            """);

    static BehaviorEvent view() {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = "m1";
        e.userKey = e.userId = "u1";
        e.anonymousId = "a1";
        e.type = "track";
        e.event = "Product Viewed";
        e.timestamp = 1_767_000_000_000L;
        e.stitchedAt = 5;
        e.profile = new ProfileSnapshot();
        e.properties.putAll(Map.of("product_id", "p1", "sku", "S-1", "name", "Mug", "price", "20", "category", "home", "currency", "USD",
                "products.0.sku", "S-2", "products.0.name", "Cup", "products.x.y.sku", "deep"));
        e.context.putAll(Map.of("userAgent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)", "timezone", "Europe/Berlin", "locale", "en-US",
                "page.url", "https://shop.example/p1", "library.name", "analytics.js"));
        return e;
    }

    @Test
    void keepsWhatConditionsAndPayloadsReadOfEarlierStepsAndTheTimeZone() {
        BehaviorEvent e = view();
        BehaviorEvent kept = EventProjection.of(List.of(REPEAT)).apply(e);
        // product_id, sku, name (payload), price (aggregate), products.*.sku as written of the current event is not a step read
        assertThat(kept.properties).containsOnlyKeys("product_id", "sku", "name", "price");
        assertThat(kept.context).containsOnlyKeys("timezone", "page.url");
        assertThat(kept.messageId).isEqualTo(e.messageId);
        assertThat(kept.timestamp).isEqualTo(e.timestamp);
        assertThat(kept.stitchedAt).isEqualTo(5);
        assertThat(kept.profile).isSameAs(e.profile);
        assertThat(kept.userId).isEqualTo("u1");
        assertThat(kept.anonymousId).isEqualTo("a1");
        assertThat(kept.type).isEqualTo("track");
        assertThat(kept.event).isEqualTo("Product Viewed");
        assertThat(e.properties).as("the event itself is untouched").hasSize(9);
    }

    @Test
    void aWildcardOfAnEarlierStepKeepsTheKeysItStandsFor() {
        PatternDefinition wild = pattern("""
                id: wild
                version: 1
                steps:
                  - {name: order, event: Order Completed}
                  - name: back
                    event: Product Viewed
                    within: 1h
                    where: [properties.product_id == order.properties.products.*.sku]
                actions:
                  alert: {type: back}
                """);
        BehaviorEvent kept = EventProjection.of(List.of(wild)).apply(view());
        assertThat(kept.properties).containsOnlyKeys("products.0.sku");
        assertThat(kept.context).containsOnlyKeys("timezone");
    }

    @Test
    void anEventWithNothingToDropIsKeptAsItIs() {
        BehaviorEvent e = new BehaviorEvent();
        e.properties.put("product_id", "p1");
        assertThat(EventProjection.of(List.of(REPEAT)).apply(e)).isSameAs(e);
        assertThat(EventProjection.EVERYTHING.apply(view())).isNotNull();
        BehaviorEvent v = view();
        assertThat(EventProjection.EVERYTHING.apply(v)).isSameAs(v);
    }

    @Test
    void coversOnlyWhatItReadsItself() {
        EventProjection repeat = EventProjection.of(List.of(REPEAT));
        assertThat(repeat.covers(EventProjection.pathsReadBy(REPEAT))).isTrue();
        assertThat(repeat.covers(java.util.Set.of("properties.category"))).isFalse();
        assertThat(EventProjection.EVERYTHING.covers(java.util.Set.of("properties.category"))).isTrue();
    }

    /** Every shipped pattern together: what a typical stored view still costs, against the whole event. */
    @Test
    void theShippedPatternsKeepAFractionOfAViewsBytes() throws Exception {
        List<PatternDefinition> shipped = Repo.shippedPatterns();
        BehaviorEvent e = view();
        BehaviorEvent kept = EventProjection.of(shipped).apply(e);
        TypeSerializer<BehaviorEvent> s = TypeInformation.of(BehaviorEvent.class).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer whole = new DataOutputSerializer(512), projected = new DataOutputSerializer(512);
        e.profile = null;
        kept = EventProjection.of(shipped).apply(e);
        s.serialize(e, whole);
        s.serialize(kept, projected);
        System.out.printf("a stored view with every shipped pattern: %d B kept of %d B (%s)%n", projected.length(), whole.length(),
                EventProjection.of(shipped));
        assertThat(kept.properties).containsKey("product_id").doesNotContainKeys("category", "currency");
        assertThat(kept.context).containsKey("timezone").doesNotContainKeys("userAgent", "locale", "library.name");
        assertThat(projected.length() * 2).isLessThan(whole.length());
    }
}
