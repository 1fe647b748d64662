package io.behaviorcep.bench;

import io.behaviorcep.pattern.PatternDefinition;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark harness on tiny sizes: the real job, plain Flink CEP and the hand-written state
 * machine find the same (user, anchor) matches on the generated traffic. No timing is asserted.
 */
class BenchHarnessTest {
    static final Path PATTERNS = Path.of(System.getProperty("behaviorcep.repo.root", ".."), "patterns");

    @Test
    void generatorIsDeterministic() {
        Traffic.Options o = Traffic.Options.of(7, 300, 3_000).withMsPerEvent(5_000);
        Traffic a = Traffic.generate(o);
        Traffic b = Traffic.generate(o);
        for (int i = 0; i < a.size(); i++) assertThat(b.raw[i].value).isEqualTo(a.raw[i].value);
        assertThat(Traffic.generate(Traffic.Options.of(8, 300, 3_000).withMsPerEvent(5_000)).raw[5].value).isNotEqualTo(a.raw[5].value);
        // mostly views, a few adds, fewer orders; every user's timestamps distinct
        assertThat(a.mix.get(Traffic.VIEWED)).isGreaterThan(a.mix.get(Traffic.ADDED) * 4);
        assertThat(a.mix.get(Traffic.ADDED)).isGreaterThan(a.mix.get(Traffic.ORDER));
        assertThat(Arrays.stream(a.parsed).map(e -> e.userKey + "@" + e.timestamp).distinct().count()).isEqualTo(a.size());
    }

    @Test
    void jobPlainCepAndStateMachineFindTheSameMatches() throws Exception {
        int events = 10_000;
        Traffic t = Traffic.generate(Traffic.Options.of(42, 300, events).withMsPerEvent(24 * 3_600_000.0 / events));
        String raw = MemorySource.register(t.raw);
        String parsed = MemorySource.register(t.parsed);
        try {
            PatternDefinition cart = Variants.shipped(PATTERNS, false);
            Contenders.Settings s = new Contenders.Settings(2, "hashmap");
            Contenders.Outcome a = Contenders.job(raw, events, List.of(cart), s, true);
            Contenders.Outcome b = Contenders.plainCep(parsed, s, true, true);
            Contenders.Outcome d = Contenders.stateMachine(parsed, s, true);

            assertThat(a.emitted()).isEqualTo(events);
            assertThat(a.deadLetters()).isZero();
            assertThat(a.late()).isZero();
            Set<String> job = a.set();
            assertThat(job).isNotEmpty();
            assertThat(job).hasSize((int) a.matches()); // cap removed: one alert per anchor
            assertThat(b.set()).isEqualTo(job);
            assertThat(d.set()).isEqualTo(job);

            // the shipped file as is: its cap (1 alert per user per 24 h) applied to plain CEP's matches gives the job's alerts
            PatternDefinition shipped = Variants.shipped(PATTERNS, true);
            Set<String> cappedJob = Contenders.job(raw, events, List.of(shipped), s, true).set();
            assertThat(cappedJob).isNotEmpty().hasSizeLessThan(job.size());
            assertThat(cappedJob).isEqualTo(BenchMain.capped(b.set(), t, shipped));
        } finally {
            MemorySource.release(raw);
            MemorySource.release(parsed);
        }
    }

    @Test
    void cappedComparisonAppliesTheShippedCap() throws Exception {
        PatternDefinition capped = Variants.shipped(PATTERNS, true);
        assertThat(capped.cap).isNotNull();
        assertThat(Variants.shipped(PATTERNS, false).cap).isNull();
        assertThat(Variants.set(PATTERNS, false, 50)).hasSize(50);
    }

    @Test
    void everyStateLayoutHandlesEveryEventOnBothBackends() throws Exception {
        StateLayoutBench.Sizes sizes = new StateLayoutBench.Sizes(100, 200, 300, 50);
        for (String backend : List.of("hashmap", "rocksdb")) {
            for (String layout : StateLayoutBench.LAYOUTS) {
                StateLayoutBench.Result r = StateLayoutBench.run(layout, new Contenders.Settings(2, backend), 3_000, 50, sizes, 7);
                assertThat(r.counted()).as(layout + " on " + backend).isEqualTo(3_000);
            }
        }
    }
}
