package io.behaviorcep.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.behaviorcep.local.TrafficGenerator.Config;
import io.behaviorcep.local.TrafficGenerator.GeneratedRecord;
import io.behaviorcep.local.TrafficGenerator.Kind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The generator feeds the demo and the benchmarks, so its promises are checked here: same seed,
 * same bytes; dirt only where asked for, at the asked ratios; and carts abandoned often enough for
 * the cart-abandonment pattern to have something to find.
 */
class TrafficGeneratorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int N = 100_000;
    private static final Config CONFIG = Config.defaults(42);

    /** One long default run shared by the statistical tests; generating it takes about a second. */
    private static List<GeneratedRecord> records;
    private static TrafficGenerator generator;

    @BeforeAll
    static void generate() {
        generator = new TrafficGenerator(CONFIG);
        records = generator.nextBatch(N);
    }

    @Test
    void sameSeedGivesSameBytesWhateverTheBatchSizes() {
        TrafficGenerator a = new TrafficGenerator(Config.defaults(7));
        TrafficGenerator b = new TrafficGenerator(Config.defaults(7));
        List<GeneratedRecord> one = a.nextBatch(3000);
        List<GeneratedRecord> many = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            many.addAll(b.nextBatch(100));
        }
        assertThat(values(many)).isEqualTo(values(one));
        assertThat(many).extracting(GeneratedRecord::keyString).isEqualTo(one.stream().map(GeneratedRecord::keyString).toList());

        List<String> otherSeed = values(new TrafficGenerator(Config.defaults(8)).nextBatch(3000));
        assertThat(otherSeed).isNotEqualTo(values(one));
    }

    @Test
    void everyRecordButTheMalformedOnesIsACompleteSegmentEvent() throws IOException {
        for (GeneratedRecord r : records) {
            if (r.kind() == Kind.MALFORMED) {
                continue;
            }
            JsonNode e = JSON.readTree(r.value());
            String type = e.path("type").asText();
            assertThat(type).isIn("track", "page");
            assertThat(e.path(type.equals("track") ? "event" : "name").asText()).isNotBlank();
            assertThat(e.path("messageId").asText()).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
            String userKey = e.hasNonNull("userId") ? e.get("userId").asText() : e.path("anonymousId").asText();
            assertThat(userKey).isNotBlank().isEqualTo(r.keyString());
            assertThat(e.path("timestamp").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
            assertThat(e.path("properties").isObject()).isTrue();
            assertThat(e.path("context").path("library").path("name").asText()).isEqualTo("behavior-cep-generator");
            if (type.equals("page")) {
                assertThat(e.path("properties").path("path").asText()).startsWith("/");
            }
        }
    }

    @Test
    void malformedRecordsAreBrokenInTheAdvertisedWays() {
        long future = CONFIG.simulatedStart().plus(Duration.ofDays(365)).toEpochMilli();
        for (GeneratedRecord r : records) {
            if (r.kind() != Kind.MALFORMED) {
                continue;
            }
            JsonNode e;
            try {
                e = JSON.readTree(r.value());
            } catch (IOException notJson) {
                continue; // truncated
            }
            boolean broken = !e.hasNonNull("messageId")
                    || !(e.hasNonNull("userId") || e.hasNonNull("anonymousId"))
                    || Instant.parse(e.get("timestamp").asText()).toEpochMilli() > future;
            assertThat(broken).as(r.valueString()).isTrue();
        }
    }

    @Test
    void simulatedTimeAdvancesAtTimeSpeedOverEventsPerSecond() {
        // 500 records per wall second, 60 simulated seconds per wall second: 120 ms per record
        Duration expected = Duration.ofMillis((long) ((N - 1) * 120.0));
        assertThat(Duration.between(CONFIG.simulatedStart(), generator.simulatedNow())).isEqualTo(expected);
        List<Instant> events = records.stream().filter(r -> r.kind() == Kind.EVENT).map(TrafficGeneratorTest::timestamp).toList();
        assertThat(events.get(events.size() - 1)).isAfter(events.get(0).plus(Duration.ofHours(3)));
    }

    @Test
    void dirtAppearsAtRoughlyTheConfiguredRatios() {
        Map<Kind, Long> counts = new HashMap<>();
        records.forEach(r -> counts.merge(r.kind(), 1L, Long::sum));
        assertThat(generator.sent().get()).isEqualTo(N);
        assertThat(generator.malformed().get()).isEqualTo(counts.get(Kind.MALFORMED)).isBetween(140L, 260L);
        assertThat(generator.duplicates().get()).isEqualTo(counts.get(Kind.DUPLICATE)).isBetween(400L, 600L);
        assertThat(generator.late().get()).isEqualTo(counts.get(Kind.LATE)).isBetween(60L, 140L);

        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < N; i++) {
            GeneratedRecord r = records.get(i);
            if (r.kind() == Kind.DUPLICATE) {
                assertThat(seen).as("a duplicate repeats an earlier record").containsKey(r.valueString());
            } else {
                seen.put(r.valueString(), i);
            }
        }
    }

    @Test
    void eachUsersTimestampsNeverGoBackExceptDeliberatelyLateOnes() {
        Map<String, Instant> last = new HashMap<>();
        for (int i = 0; i < N; i++) {
            GeneratedRecord r = records.get(i);
            Instant slot = CONFIG.simulatedStart().plusMillis((long) (i * 120.0));
            if (r.kind() == Kind.EVENT) {
                Instant t = timestamp(r);
                assertThat(t).isEqualTo(slot);
                Instant previous = last.put(r.keyString(), t);
                if (previous != null) {
                    assertThat(t).isAfterOrEqualTo(previous);
                }
            } else if (r.kind() == Kind.LATE) {
                assertThat(Duration.between(timestamp(r), slot)).isBetween(Duration.ofMinutes(114), Duration.ofMinutes(126));
            }
        }
    }

    @Test
    void aboutAThirdOfCartsAreAbandonedAndSomeUsersAreFarBusierThanOthers() throws IOException {
        Map<String, Instant> lastAddByCart = new TreeMap<>();
        Map<String, String> cartUser = new HashMap<>();
        Map<String, List<Instant>> ordersByUser = new HashMap<>();
        Map<String, Integer> eventsByUser = new HashMap<>();
        for (GeneratedRecord r : records) {
            if (r.kind() != Kind.EVENT) {
                continue;
            }
            eventsByUser.merge(r.keyString(), 1, Integer::sum);
            JsonNode e = JSON.readTree(r.value());
            switch (e.path("event").asText()) {
                case "Product Added" -> {
                    String cart = e.path("properties").path("cart_id").asText();
                    lastAddByCart.put(cart, timestamp(r));
                    cartUser.put(cart, r.keyString());
                }
                case "Order Completed" -> {
                    assertThat(e.path("properties").path("order_id").asText()).startsWith("ord-");
                    assertThat(e.path("properties").path("products").size()).isPositive();
                    assertThat(e.path("properties").path("revenue").asDouble()).isPositive();
                    ordersByUser.computeIfAbsent(r.keyString(), k -> new ArrayList<>()).add(timestamp(r));
                }
                default -> { }
            }
        }
        Instant end = generator.simulatedNow().minus(Duration.ofMinutes(20));
        long carts = 0;
        long abandoned = 0;
        for (var cart : lastAddByCart.entrySet()) {
            Instant added = cart.getValue();
            if (added.isAfter(end)) {
                continue;
            }
            carts++;
            boolean ordered = ordersByUser.getOrDefault(cartUser.get(cart.getKey()), List.of()).stream()
                    .anyMatch(t -> !t.isBefore(added) && t.isBefore(added.plus(Duration.ofMinutes(15))));
            if (!ordered) {
                abandoned++;
            }
        }
        assertThat(carts).isGreaterThan(1000);
        assertThat((double) abandoned / carts).isBetween(0.25, 0.45);

        List<Integer> perUser = eventsByUser.values().stream().sorted((a, b) -> b - a).toList();
        int total = perUser.stream().mapToInt(Integer::intValue).sum();
        int top20 = perUser.stream().limit(20).mapToInt(Integer::intValue).sum();
        assertThat((double) top20 / total).as("share of the 20 busiest of %d users", perUser.size()).isGreaterThan(0.04);
    }

    @Test
    void rejectsImpossibleConfigs() {
        assertThatThrownBy(() -> Config.defaults(1).withRatios(0.5, 0.5, 0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Config.defaults(1).withEventsPerSecond(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSingleUserStillGetsSessions() {
        List<GeneratedRecord> one = new TrafficGenerator(Config.defaults(3).withUsers(1)).nextBatch(500);
        assertThat(one).extracting(GeneratedRecord::keyString).containsOnly(one.get(0).keyString());
    }

    private static Instant timestamp(GeneratedRecord r) {
        try {
            return Instant.parse(JSON.readTree(r.value()).get("timestamp").asText());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> values(List<GeneratedRecord> rs) {
        return rs.stream().map(GeneratedRecord::valueString).toList();
    }
}
