package io.behaviorcep.bench;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The shipped cart-abandonment pattern, and generated variants of it for the "cost vs number of patterns" curve. */
public final class Variants {
    private Variants() {}

    /** patterns/cart-abandonment.yaml from {@code dir} if given, else ./patterns or ../patterns, else the classpath (flink-jobs jar). */
    public static String shippedYaml(Path dir) throws IOException {
        List<Path> candidates = new ArrayList<>();
        if (dir != null) candidates.add(dir.resolve("cart-abandonment.yaml"));
        candidates.add(Path.of("patterns", "cart-abandonment.yaml"));
        candidates.add(Path.of("..", "patterns", "cart-abandonment.yaml"));
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) return Files.readString(p);
        }
        try (InputStream in = Variants.class.getClassLoader().getResourceAsStream("patterns/cart-abandonment.yaml")) {
            if (in == null) throw new IOException("patterns/cart-abandonment.yaml found neither on disk nor on the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * The shipped pattern through {@link PatternLoader}; with {@code keepCap} false its {@code cap:} block
     * is taken out, so every decided match leaves as an alert and can be compared with the peers.
     */
    /** Every shipped pattern and threshold segment, as {@code run} loads the folder (caps kept). */
    public static io.behaviorcep.pattern.PatternLoader.Result shippedFolder(Path dir) throws IOException {
        Path folder = Path.of(shippedYamlPath(dir)).getParent();
        io.behaviorcep.pattern.PatternLoader.Result r = io.behaviorcep.pattern.PatternLoader.load(folder);
        if (!r.problems().isEmpty()) throw new IOException("the shipped patterns have problems: " + r.problems());
        return r;
    }

    /** The shipped messaging policy ({@code policy.yaml} beside the patterns); null if there is none. */
    public static Path shippedPolicy(Path dir) throws IOException {
        Path policy = Path.of(shippedYamlPath(dir)).getParent().resolve("policy.yaml");
        return Files.isRegularFile(policy) ? policy : null;
    }

    private static String shippedYamlPath(Path dir) throws IOException {
        List<Path> candidates = new ArrayList<>();
        if (dir != null) candidates.add(dir.resolve("cart-abandonment.yaml"));
        candidates.add(Path.of("patterns", "cart-abandonment.yaml"));
        candidates.add(Path.of("..", "patterns", "cart-abandonment.yaml"));
        for (Path p : candidates) if (Files.isRegularFile(p)) return p.toAbsolutePath().toString();
        throw new IOException("the shipped patterns folder is needed on disk for a* (patterns/ or --patterns-dir)");
    }

    public static PatternDefinition shipped(Path dir, boolean keepCap) throws IOException {
        String yaml = shippedYaml(dir);
        if (!keepCap) yaml = yaml.replaceAll("(?m)^  cap:\\n(    .*\\n)+", "");
        PatternDefinition def = PatternLoader.loadString("cart-abandonment.yaml", yaml).orThrow().get(0);
        if (!keepCap && def.cap != null) throw new IllegalStateException("could not remove the cap of cart-abandonment.yaml");
        return def;
    }

    private static final String[][] SHAPES = {
            {"Product Viewed", "Product Added", "Order Completed"},
            {"Product List Viewed", "Product Viewed", "Product Added"},
            {"Products Searched", "Product Viewed", "Order Completed"},
            {"Product Added", "Checkout Started", "Order Completed"},
            {"Product Viewed", "Checkout Started", "Order Completed"},
            {"Products Searched", "Product Added", "Checkout Started"},
    };

    /** Variant i (1-based): the cart-abandonment shape over other event names and windows. */
    public static String variantYaml(int i) {
        String[] s = SHAPES[i % SHAPES.length];
        int within = 10 + (i * 7) % 41;     // 10..50 min
        int absent = 5 + (i * 11) % 26;     // 5..30 min
        return """
                id: bench-variant-%d
                version: 1
                description: generated variant %d of cart-abandonment
                owner: benchmark
                enabled: true
                steps:
                  - name: first
                    event: %s
                  - name: second
                    event: %s
                    contiguity: followed_by_any
                    within: %dm
                  - name: nothing
                    absent:
                      event: %s
                    for: %dm
                actions:
                  alert:
                    type: bench_variant_%d
                    severity: low
                    payload:
                      product_id: ${second.properties.product_id}
                """.formatted(i, i, s[0], s[1], within, s[2], absent, i);
    }

    /** The shipped pattern plus {@code count - 1} variants, loaded from generated YAML text. */
    public static List<PatternDefinition> set(Path dir, boolean keepCap, int count) throws IOException {
        List<PatternDefinition> all = new ArrayList<>();
        all.add(shipped(dir, keepCap));
        if (count > 1) {
            Map<String, String> files = new LinkedHashMap<>();
            for (int i = 1; i < count; i++) files.put("bench-variant-" + i + ".yaml", variantYaml(i));
            all.addAll(PatternLoader.loadAll(files).orThrow());
        }
        return all;
    }
}
