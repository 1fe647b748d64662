package io.behaviorcep.pattern.differential;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one verdict of the differential suites: the engine, alone and running every pattern of the
 * suite, finds exactly what the reference finds, and the reference finds something (else the
 * comparison proves nothing). Prints the counts, and the first differences when they disagree.
 */
final class EngineAgreement {
    private EngineAgreement() {}

    /**
     * @param reference what the reference is called in the output ("Flink CEP", "reference")
     * @param found     what the reference must find, for the non-empty check ("finds matches of", "times out partial matches of")
     */
    static void assertAgrees(String id, String reference, String found, List<String> expected, List<String> engine,
                             List<String> engineAll, int patterns) {
        System.out.printf("%-36s %5d %s, %5d engine, %5d engine with all %d patterns%n", id, expected.size(), reference, engine.size(),
                engineAll.size(), patterns);
        if (!engine.equals(expected)) {
            List<String> onlyReference = new ArrayList<>(expected);
            engine.forEach(onlyReference::remove);
            List<String> onlyEngine = new ArrayList<>(engine);
            expected.forEach(onlyEngine::remove);
            System.out.printf("  only %s (%d): %s%n  only engine (%d): %s%n", reference, onlyReference.size(),
                    onlyReference.stream().limit(8).toList(), onlyEngine.size(), onlyEngine.stream().limit(8).toList());
        }
        assertThat(expected).as("%s %s %s (else the comparison proves nothing)", reference, found, id).isNotEmpty();
        assertThat(engine).as("engine vs %s: %s", reference, id).isEqualTo(expected);
        assertThat(engineAll).as("engine running all patterns vs %s: %s", reference, id).isEqualTo(expected);
    }
}
