package io.behaviorcep.reload;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.reload.PatternSetDiff.Decision;
import io.behaviorcep.reload.PatternSetDiff.Delete;
import io.behaviorcep.reload.PatternSetDiff.PatternAccepted;
import io.behaviorcep.reload.PatternSetDiff.PatternFolder;
import io.behaviorcep.reload.PatternSetDiff.PatternRejected;
import io.behaviorcep.reload.PatternSetDiff.RejectedFile;
import io.behaviorcep.reload.PatternSetDiff.Result;
import io.behaviorcep.reload.PatternSetDiff.RunningPattern;
import io.behaviorcep.reload.PatternSetDiff.DefinitionsChanged;
import io.behaviorcep.reload.PatternSetDiff.DefinitionsRejected;
import io.behaviorcep.reload.PatternSetDiff.Upsert;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.behaviorcep.reload.PatternWatcherOperatorTest.pattern;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The watcher's rules on plain values: folder texts and the running set in, decisions and the new
 * running set out. No Flink, no files.
 */
class PatternSetDiffTest {
    static final Path ROOT = Path.of("/patterns");
    static final long NOW = 1_700_000_000_000L;
    static final long ACTIVATE_AT = 1_700_000_005_000L;
    static final String SEGMENTS = "kind: segments\nsegments:\n  - id: engaged\n    when: profile.sessions_7d > 5\n";

    /** The folder's files: cart.yaml and burst.yaml at version 1 and a segments file; both patterns run. */
    private final Map<String, String> files = new TreeMap<>(Map.of(
            "cart.yaml", pattern("cart", 1, true, "Product Viewed"),
            "burst.yaml", pattern("burst", 1, true, "Product Viewed"),
            "segments.yaml", SEGMENTS));
    private Map<String, RunningPattern> running = new TreeMap<>(Map.of(
            "cart", runningFrom("cart.yaml", files.get("cart.yaml")),
            "burst", runningFrom("burst.yaml", files.get("burst.yaml"))));
    private Map<String, RejectedFile> rejected = Map.of();
    private Map<String, String> segmentFileHashes = Map.of();

    static RunningPattern runningFrom(String file, String text) {
        PatternDefinition d = PatternLoader.loadString(ROOT.resolve(file).toString(), text).orThrow().get(0);
        return new RunningPattern(d.id, d.version, file, PatternSetDiff.sha256(text), d.enabled, PatternSetDiff.stepShape(d));
    }

    /** One look at {@link #files}; what it decides becomes the state of the next look. */
    private List<Decision> look() {
        Result r = PatternSetDiff.compare(new PatternFolder(ROOT, true, Map.copyOf(files)), running, rejected, segmentFileHashes, NOW, ACTIVATE_AT);
        running = r.running();
        rejected = r.rejected();
        segmentFileHashes = r.segmentFileHashes();
        return r.decisions();
    }

    private static PatternRejected onlyRejection(List<Decision> decisions) {
        assertThat(decisions).singleElement().isInstanceOf(PatternRejected.class);
        return (PatternRejected) decisions.get(0);
    }

    @Test
    void anUnchangedFolderDecidesNothing() {
        assertThat(look()).isEmpty();
        assertThat(running).containsOnlyKeys("cart", "burst");
    }

    @Test
    void theMessagingPolicyBesideThePatternsIsNoPatternChange() throws Exception {
        String policy = java.nio.file.Files.readString(io.behaviorcep.testing.Repo.patterns().resolve("policy.yaml"));
        files.put("policy.yaml", policy);
        assertThat(look()).isEmpty();
        files.put("policy.yaml", policy.replace("max: 2", "max: 3"));
        assertThat(look()).isEmpty();
        assertThat(running).containsOnlyKeys("cart", "burst");
    }

    @Test
    void aNewFileIsAddedFromTheActivationTime() {
        files.put("dormant.yaml", pattern("dormant", 1, true, "Product Viewed"));

        List<Decision> decisions = look();

        assertThat(decisions).hasSize(2);
        PatternChange upsert = ((Upsert) decisions.get(0)).change();
        assertThat(upsert.kind).isEqualTo(PatternChange.UPSERT);
        assertThat(upsert.patternId).isEqualTo("dormant");
        assertThat(upsert.source).isEqualTo("/patterns/dormant.yaml");
        assertThat(upsert.activateAt).isEqualTo(ACTIVATE_AT);
        assertThat(upsert.acceptedAt).isEqualTo(NOW);
        assertThat(decisions.get(1)).isEqualTo(new PatternAccepted("dormant", 1, "dormant.yaml", "added", ACTIVATE_AT, NOW));
        assertThat(running.get("dormant")).isEqualTo(runningFrom("dormant.yaml", files.get("dormant.yaml")));
    }

    @Test
    void aChangedFileWithAHigherVersionIsAccepted() {
        files.put("cart.yaml", pattern("cart", 2, true, "Product Clicked"));

        List<Decision> decisions = look();

        assertThat(decisions).extracting(Object::getClass).containsExactly(Upsert.class, PatternAccepted.class);
        assertThat(((Upsert) decisions.get(0)).change().yaml).isEqualTo(files.get("cart.yaml"));
        assertThat(((PatternAccepted) decisions.get(1)).change()).isEqualTo("changed");
        assertThat(running.get("cart").version()).isEqualTo(2);
        assertThat(running.get("cart").sha256()).isEqualTo(PatternSetDiff.sha256(files.get("cart.yaml")));
    }

    @Test
    void disablingIsAChangeOfItsOwnName() {
        files.put("cart.yaml", pattern("cart", 2, false, "Product Viewed"));
        assertThat(((PatternAccepted) look().get(1)).change()).isEqualTo("disabled");
        files.put("cart.yaml", pattern("cart", 3, true, "Product Viewed"));
        assertThat(((PatternAccepted) look().get(1)).change()).isEqualTo("enabled");
    }

    @Test
    void aChangeWhoseVersionDoesNotGoForwardIsRejectedAndTheRunningVersionStays() {
        files.put("cart.yaml", pattern("cart", 1, true, "Product Clicked"));

        PatternRejected same = onlyRejection(look());
        assertThat(same.problems()).containsExactly("/patterns/cart.yaml:2:10: the file changed but its version is still 1; "
                + "version numbers only go forward: give it version 2 or more");
        assertThat(same.running()).isEqualTo(running.get("cart"));
        assertThat(same.change()).isEqualTo("changed");
        assertThat(running.get("cart").version()).isEqualTo(1);
        assertThat(rejected).containsOnlyKeys("cart.yaml");
        assertThat(look()).as("a rejected text is not looked at again").isEmpty();

        files.put("cart.yaml", pattern("cart", 3, true, "Product Clicked"));
        assertThat(look()).hasSize(2);
        files.put("cart.yaml", pattern("cart", 2, true, "Product Added"));
        assertThat(onlyRejection(look()).problems()).singleElement().asString()
                .contains("version 2 is lower than the running version 3; version numbers only go forward: give it version 4 or more");
    }

    @Test
    void theSameTextUnderAnotherFileNameIsARenameWithNothingToApply() {
        files.put("cart-abandonment.yaml", files.remove("cart.yaml"));

        assertThat(look()).isEmpty();
        assertThat(running.get("cart").file()).isEqualTo("cart-abandonment.yaml");
    }

    @Test
    void anIdThatAnotherFileStillHoldsIsRejected() {
        // cart.yaml changes (and is rejected), so only the running-set rule sees the second file's claim to 'cart'
        files.put("cart.yaml", pattern("cart", 1, true, "Product Added"));
        files.put("cart-copy.yaml", pattern("cart", 2, true, "Product Clicked"));

        List<Decision> decisions = look();

        assertThat(decisions).hasSize(2).allSatisfy(d -> assertThat(d).isInstanceOf(PatternRejected.class));
        PatternRejected copy = (PatternRejected) decisions.get(0);
        assertThat(copy.file()).isEqualTo("cart-copy.yaml");
        assertThat(copy.problems()).containsExactly("/patterns/cart-copy.yaml:1:1: pattern id 'cart' is already the id of the running pattern in /patterns/cart.yaml");
        assertThat(running.get("cart")).isEqualTo(runningFrom("cart.yaml", pattern("cart", 1, true, "Product Viewed")));
    }

    @Test
    void twoValidFilesWithOneIdAreTheLoadersDuplicate() {
        files.put("cart-copy.yaml", pattern("cart", 2, true, "Product Clicked"));

        assertThat(onlyRejection(look()).problems()).containsExactly("/patterns/cart.yaml:1:5: duplicate pattern id 'cart', also defined in /patterns/cart-copy.yaml");
        assertThat(running.get("cart").file()).isEqualTo("cart.yaml");
    }

    @Test
    void keepWithAnotherStepShapeIsRejectedAndWithTheSameShapeAccepted() {
        String keep = pattern("cart", 2, true, "Product Clicked").replace("version: 2", "version: 2\non_change: keep");
        files.put("cart.yaml", keep);
        assertThat(look()).hasSize(2);

        files.put("cart.yaml", keep.replace("version: 2", "version: 3").replace("name: added", "name: carted"));
        PatternRejected r = onlyRejection(look());
        assertThat(r.problems()).containsExactly("/patterns/cart.yaml:3:1: on_change: keep needs the same steps as the running version 2 "
                + "(names, order, absence, quantifiers) so that its open matches can go on: it has [viewed, added], "
                + "this version [viewed, carted]; use drain or restart for this change");
        assertThat(running.get("cart").version()).isEqualTo(2);
    }

    @Test
    void aDeletedFileDeletesItsPattern() {
        files.remove("burst.yaml");

        List<Decision> decisions = look();

        assertThat(decisions).hasSize(2);
        PatternChange delete = ((Delete) decisions.get(0)).change();
        assertThat(delete.kind).isEqualTo(PatternChange.DELETE);
        assertThat(delete.patternId).isEqualTo("burst");
        assertThat(delete.source).isEqualTo("/patterns/burst.yaml");
        assertThat(decisions.get(1)).isEqualTo(new PatternAccepted("burst", 1, "burst.yaml", "deleted", ACTIVATE_AT, NOW));
        assertThat(running).containsOnlyKeys("cart");
    }

    @Test
    void aFileThatNoLongerLoadsIsRejectedAndTheOldVersionRunsOn() {
        files.put("cart.yaml", "id: cart\nversion: 2\nsteps: [\n");

        PatternRejected r = onlyRejection(look());
        assertThat(r.patternId()).as("guessed from the text").isEqualTo("cart");
        assertThat(r.version()).isEqualTo(2);
        assertThat(r.running()).isEqualTo(running.get("cart"));
        assertThat(r.problems()).isNotEmpty().allSatisfy(p -> assertThat(p).startsWith("/patterns/cart.yaml:"));
        assertThat(running.get("cart").version()).isEqualTo(1);

        // moved to another file that is rejected too: the id is still claimed, so the old version runs on
        files.put("cart-2.yaml", files.remove("cart.yaml"));
        assertThat(onlyRejection(look()).file()).isEqualTo("cart-2.yaml");
        assertThat(running).containsKey("cart");
    }

    @Test
    void changedSegmentsAndTraitsFilesGoToTheProfileAsAWholeFromTheActivationTime() {
        assertThat(look()).as("the first look records what the job started with").isEmpty();
        files.put("segments.yaml", SEGMENTS.replace("> 5", "> 6"));

        List<Decision> decisions = look();
        assertThat(decisions).singleElement().isInstanceOf(DefinitionsChanged.class);
        DefinitionsChanged c = (DefinitionsChanged) decisions.get(0);
        assertThat(c.files()).containsExactly("segments.yaml");
        assertThat(c.change().activateAt).isEqualTo(ACTIVATE_AT);
        assertThat(c.change().definitionFiles()).isEqualTo(Map.of("/patterns/segments.yaml", SEGMENTS.replace("> 5", "> 6")));
        assertThat(PatternChange.isDefinitionsRecord(c.change().toRecord())).isTrue();
        assertThat(PatternChange.fromRecord(c.change().toRecord()).definitionFiles()).isEqualTo(c.change().definitionFiles());
        assertThat(running).containsOnlyKeys("cart", "burst");
        assertThat(look()).as("nothing new").isEmpty();

        // a traits file added, and a segment that reads it: both files go
        files.put("traits.yaml", "traits:\n  - {id: adds_1h, function: count, event: Product Added, window: 1h}\n");
        files.put("segments.yaml", SEGMENTS.replace("profile.sessions_7d > 5", "profile.traits.adds_1h > 2"));
        c = (DefinitionsChanged) look().get(0);
        assertThat(c.files()).containsExactly("segments.yaml", "traits.yaml");
        assertThat(c.change().definitionFiles()).containsOnlyKeys("/patterns/segments.yaml", "/patterns/traits.yaml");

        // the traits file removed while the segment still reads it: rejected, with the problem where it is
        String traits = files.remove("traits.yaml");
        decisions = look();
        assertThat(decisions).singleElement().isInstanceOf(DefinitionsRejected.class);
        DefinitionsRejected r = (DefinitionsRejected) decisions.get(0);
        assertThat(r.files()).containsExactly("traits.yaml");
        assertThat(r.problems()).containsExactly("/patterns/segments.yaml:4:26: unknown trait 'adds_1h' (no traits file defines any: add one with kind: traits)");
        assertThat(r.toJson()).contains("\"kind\":\"rejected\"", "\"change\":\"definitions\"");

        // put back: accepted again
        files.put("traits.yaml", traits);
        assertThat(look()).singleElement().isInstanceOf(DefinitionsChanged.class);
    }

    @Test
    void aTraitThatARunningPatternReadsCannotBeRemoved() {
        String readsTrait = pattern("cart", 1, true, "Product Viewed").replace("event: Product Viewed", "event: Product Viewed\n    where: profile.traits.n > 1");
        files.put("cart.yaml", readsTrait);
        running.put("cart", new RunningPattern("cart", 1, "cart.yaml", PatternSetDiff.sha256(readsTrait), true, null));
        files.put("traits.yaml", "kind: traits\ntraits:\n  - {id: n, function: count, event: A, since: B}\n");
        segmentFileHashes = PatternSetDiff.definitionHashes(files);
        assertThat(look()).isEmpty();

        files.put("traits.yaml", "kind: traits\ntraits:\n  - {id: m, function: count, event: A, since: B}\n");
        List<Decision> decisions = look();
        assertThat(decisions).singleElement().isInstanceOf(DefinitionsRejected.class);
        assertThat(((DefinitionsRejected) decisions.get(0)).problems()).containsExactly(
                "/patterns/cart.yaml:7:27: unknown trait 'n', did you mean 'm'? (traits are defined in the traits file, kind: traits)");
    }

    @Test
    void theRecordsAreOneLineOfJson() {
        assertThat(new PatternAccepted("cart", 2, "cart.yaml", "changed", ACTIVATE_AT, NOW).toJson())
                .isEqualTo("{\"kind\":\"accepted\",\"pattern_id\":\"cart\",\"version\":2,\"file\":\"cart.yaml\",\"change\":\"changed\","
                        + "\"problems\":[],\"activate_at\":\"2023-11-14T22:13:25Z\",\"at\":\"2023-11-14T22:13:20Z\"}");
        assertThat(new PatternRejected("x.yaml", null, null, "added", List.of("x.yaml:1:1: bad"), null, NOW).toJson())
                .isEqualTo("{\"kind\":\"rejected\",\"pattern_id\":null,\"version\":null,\"file\":\"x.yaml\",\"change\":\"added\","
                        + "\"problems\":[\"x.yaml:1:1: bad\"],\"activate_at\":null,\"at\":\"2023-11-14T22:13:20Z\"}");
    }
}
