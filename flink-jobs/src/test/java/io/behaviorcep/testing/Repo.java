package io.behaviorcep.testing;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import java.nio.file.Path;
import java.util.List;

/** Paths of the repository's own material (patterns/, sql/), which tests hold to their contracts. */
public final class Repo {
    private Repo() {}

    public static Path root() {
        String p = System.getProperty("behaviorcep.repo.root");
        return p != null ? Path.of(p) : Path.of("..");
    }

    public static Path patterns() {
        return root().resolve("patterns");
    }

    public static List<PatternDefinition> shippedPatterns() {
        return PatternLoader.load(patterns()).orThrow();
    }

    public static PatternDefinition pattern(String id) {
        return shippedPatterns().stream().filter(p -> p.id.equals(id)).findFirst().orElseThrow();
    }
}
