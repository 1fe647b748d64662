package io.behaviorcep.event;

import io.behaviorcep.testing.HostileCorpus;
import io.behaviorcep.testing.HostileCorpus.Entry;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The checked-in hostile corpus is what {@link HostileCorpus} generates, and the parser gives every
 * record of it the verdict the corpus expects (its {@code dlq.reason}, or accepted). {@code HostileInputIT}
 * then sends the same corpus through the real job on the real broker.
 */
class HostileCorpusTest {

    @Test
    void theCheckedInCorpusIsTheGeneratorsOutput() throws Exception {
        String generated = HostileCorpus.text(HostileCorpus.generate());
        if (Boolean.getBoolean("hostile.regenerate")) {
            Path file = Repo.root().resolve("flink-jobs/src/test/resources" + HostileCorpus.RESOURCE);
            Files.createDirectories(file.getParent());
            Files.write(file, HostileCorpus.gzip(generated));
            System.out.println("regenerated " + file.toAbsolutePath());
            return;
        }
        byte[] checkedIn = Files.readAllBytes(Repo.root().resolve("flink-jobs/src/test/resources" + HostileCorpus.RESOURCE));
        assertThat(new String(HostileCorpus.gunzip(checkedIn), java.nio.charset.StandardCharsets.UTF_8))
                .as("src/test/resources" + HostileCorpus.RESOURCE + " is stale: rerun with -Dhostile.regenerate=true")
                .isEqualTo(generated);
    }

    @Test
    void everyRecordGetsTheVerdictTheCorpusExpects() throws Exception {
        List<Entry> corpus = HostileCorpus.load();
        EventParser parser = new EventParser(EventParser.Limits.defaults()); // the real wall clock, as in the job
        List<String> wrong = new ArrayList<>();
        Map<String, Integer> byExpected = new TreeMap<>();
        for (Entry e : corpus) {
            EventParser.Result r = parser.parse(new RawRecord(e.key(), e.value(), "t", 0, 0));
            String verdict = r.ok() ? HostileCorpus.OK : r.deadLetter.reason.name();
            byExpected.merge(e.expected(), e.repeat(), Integer::sum);
            if (!verdict.equals(e.expected())) {
                wrong.add(e.label() + ": expected " + e.expected() + ", got " + verdict + (r.ok() ? "" : " (" + r.deadLetter.message + ")"));
            }
            if (!r.ok()) {
                assertThat(r.deadLetter.value).as(e.label() + ": the dead letter keeps the original bytes").isSameAs(e.value());
                assertThat(r.deadLetter.message).as(e.label() + ": a message for people").isNotBlank();
            }
        }
        System.out.println("hostile corpus: " + corpus.size() + " lines, records by expected verdict " + byExpected);
        assertThat(wrong).as("records whose verdict differs from the corpus").isEmpty();
        // the corpus covers every reason of the parser the contract lists
        for (DeadLetter.Reason reason : DeadLetter.parserReasons()) {
            assertThat(byExpected).as("records expected to be " + reason).containsKey(reason.name());
        }
        assertThat(byExpected.get(HostileCorpus.OK)).isEqualTo(3 * HostileCorpus.GOOD_USERS);
    }
}
