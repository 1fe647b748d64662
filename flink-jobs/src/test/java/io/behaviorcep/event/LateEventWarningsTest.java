package io.behaviorcep.event;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LateEventWarningsTest {
    static final long MINUTE = 60_000;
    static final long T = 1_767_000_000_000L;

    @Test
    void aMinuteWithLateEventsAboveTheShareIsReportedOnceWhenItIsOver() {
        LateEventWarnings w = new LateEventWarnings(MINUTE, 0.01);
        List<String> logged = new ArrayList<>();
        long now = 1_000;
        for (int i = 0; i < 100; i++) {
            String s = w.record(i % 10 == 0, T + i, T + 50_000, now + i * 100);
            if (s != null) logged.add(s);
        }
        assertThat(logged).as("nothing before the minute is over").isEmpty();
        String s = w.record(false, T + 60_000, T + 50_000, now + MINUTE);
        assertThat(s).startsWith("10 of 100 events in the last 60 s were late").contains("up to 50 s behind")
                .contains("2025-12-29T09:20:50Z").doesNotContain("null");
        // the next minute starts empty
        assertThat(w.record(false, T + 60_001, T + 50_000, now + 2 * MINUTE)).isNull();
    }

    @Test
    void aTrickleBelowTheShareIsNotLogged() {
        LateEventWarnings w = new LateEventWarnings(MINUTE, 0.01);
        for (int i = 0; i < 1_000; i++) assertThat(w.record(i == 500, T + i, T, i * 10L)).isNull();
        // 1 of 1,000 = 0.1 %
        assertThat(w.record(false, T, T, MINUTE + 1)).isNull();
    }

    @Test
    void shareZeroReportsAnyLateEventAndNoneWithoutOne() {
        LateEventWarnings w = new LateEventWarnings(MINUTE, 0);
        w.record(false, T, T - 1, 0);
        assertThat(w.record(false, T, T - 1, MINUTE)).as("no late event, nothing to say").isNull();
        w.record(true, T - 5_000, T, MINUTE + 1);
        assertThat(w.record(false, T, T, 2 * MINUTE + 1)).startsWith("1 of 2 events");
    }
}
