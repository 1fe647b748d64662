package io.behaviorcep.ops;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Repo;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * State is restored by operator uid, so uids are part of the savepoint contract: the production
 * graph (Kafka and PostgreSQL connectors, the shipped patterns) gives every operator an explicit
 * uid in every configuration, and exactly those of the table "Operator uids" in docs/contracts.md
 * that the configuration's settings call for: a uid that changes without the table fails here.
 */
class UidContractTest {
    /** The configurations that change the graph's operators. */
    static final Map<String, Map<String, String>> CONFIGS = Map.of(
            "plain", Map.of(),
            "pseudonymize", Map.of("privacy.pseudonymize", "true"),
            "patterns.watch", Map.of("patterns.watch", "true"),
            "postgres (sinks, suppression list)", Map.of("jdbc.url", "jdbc:postgresql://localhost:5432/behavior_cep"),
            "everything", Map.of("privacy.pseudonymize", "true", "patterns.watch", "true",
                    "jdbc.url", "jdbc:postgresql://localhost:5432/behavior_cep"));

    static StreamGraph graph(Map<String, String> settings) {
        Map<String, String> all = new HashMap<>(settings);
        all.put("kafka.bootstrap-servers", "localhost:9092");
        all.put("patterns.dir", Repo.patterns().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.setParallelism(2);
        BehaviorCepJob.prepare(env, JobConfig.of(all), new KafkaIO(JobConfig.of(all)));
        return env.getStreamGraph();
    }

    /** operator name -> uid (null when Flink would generate one). */
    static Map<String, String> uids(StreamGraph g) {
        Map<String, String> out = new TreeMap<>();
        for (StreamNode n : g.getStreamNodes()) out.put(n.getOperatorName(), n.getTransformationUID());
        return out;
    }

    /** The uids named in the first column of the "Operator uids" table of docs/contracts.md. */
    static TreeSet<String> documentedUids() throws Exception {
        return new TreeSet<>(documentedRows().keySet());
    }

    /**
     * The rows of the "Operator uids" table of docs/contracts.md: each uid of the first column with
     * the setting its operator column makes it depend on ("only with `jdbc.url`", "only without
     * `patterns.watch`"), or null when it is always there. A committer ("Sink Committer: x") goes
     * with its writer x.
     */
    static Map<String, Condition> documentedRows() throws Exception {
        List<String> lines = Files.readAllLines(Repo.root().resolve("docs/contracts.md"));
        int start = -1;
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith("## Operator uids")) start = i;
        assertThat(start).as("docs/contracts.md has a section 'Operator uids'").isNotNegative();
        Map<String, Condition> out = new TreeMap<>();
        Pattern code = Pattern.compile("`([^`]+)`");
        Pattern only = Pattern.compile("only (with|without) `([^`]+)`");
        for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("## "); i++) {
            String line = lines.get(i);
            if (!line.startsWith("| `")) continue;
            String[] columns = line.split("\\|");
            Matcher c = only.matcher(columns[2]);
            Condition condition = c.find() ? new Condition(c.group(2), c.group(1).equals("with")) : null;
            Matcher m = code.matcher(columns[1]);
            while (m.find()) out.put(m.group(1), condition);
        }
        String committer = "Sink Committer: ";
        out.replaceAll((uid, condition) -> condition == null && uid.startsWith(committer) ? out.get(uid.substring(committer.length())) : condition);
        return out;
    }

    /** A row that holds only when a setting is on ({@code with}) or off. */
    record Condition(String key, boolean with) {
        boolean holds(Map<String, String> settings) {
            String v = settings.get(key);
            boolean on = v != null && !v.isEmpty() && !v.equals("false");
            return on == with;
        }
    }

    /** The documented uids of the graph built with these settings. */
    static TreeSet<String> documentedUids(Map<String, String> settings) throws Exception {
        TreeSet<String> out = new TreeSet<>();
        documentedRows().forEach((uid, condition) -> {
            if (condition == null || condition.holds(settings)) out.add(uid);
        });
        return out;
    }

    @Test
    void everyOperatorHasAnExplicitUidInEveryConfiguration() {
        CONFIGS.forEach((name, settings) -> {
            Map<String, String> uids = uids(graph(settings));
            assertThat(uids).as("operators without a uid with %s: %s", name, uids).doesNotContainValue(null);
        });
    }

    @Test
    void eachConfigurationHasExactlyTheDocumentedUidsOfItsSettings() throws Exception {
        for (Map.Entry<String, Map<String, String>> c : CONFIGS.entrySet()) {
            assertThat(new TreeSet<>(uids(graph(c.getValue())).values()))
                    .as("the uids of the graph with %s, against the table of docs/contracts.md and its 'only with' notes", c.getKey())
                    .isEqualTo(documentedUids(c.getValue()));
        }
    }

    @Test
    void theUidsAreExactlyThoseOfTheContract() throws Exception {
        TreeSet<String> inGraphs = new TreeSet<>();
        CONFIGS.forEach((name, settings) -> {
            TreeSet<String> these = new TreeSet<>(uids(graph(settings)).values());
            inGraphs.addAll(these);
        });
        System.out.println("uids of the production graphs: " + inGraphs);
        assertThat(inGraphs).isEqualTo(documentedUids());
    }

    @Test
    void thePatternSetDoesNotChangeTheUids() {
        // patterns come and go inside the engine; its uid does not depend on them
        Map<String, String> all = new HashMap<>(Map.of("kafka.bootstrap-servers", "localhost:9092"));
        TreeSet<String> withOne = new TreeSet<>();
        TreeSet<String> withAll = new TreeSet<>();
        for (var pair : List.of(Map.entry(List.of(Repo.pattern("cart-abandonment")), withOne), Map.entry(Repo.shippedPatterns(), withAll))) {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
            io.behaviorcep.BehaviorCepPipeline.build(env, JobConfig.of(all), pair.getKey(), new KafkaIO(JobConfig.of(all)));
            pair.getValue().addAll(uids(env.getStreamGraph()).values());
        }
        assertThat(withOne).isEqualTo(withAll).contains("pattern-engine");
    }
}
