package io.behaviorcep.ops;

import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.metrics.LogicalScopeProvider;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.prometheus.AbstractPrometheusReporter;
import org.apache.flink.runtime.metrics.groups.AbstractMetricGroup;
import org.apache.flink.runtime.metrics.groups.FrontMetricGroup;
import org.apache.flink.runtime.metrics.groups.ReporterScopedSettings;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The Prometheus side of the metrics: the reporter's own naming, and the names the Grafana dashboard queries. */
final class PrometheusNames {
    static final Path DASHBOARD = Repo.root().resolve("k8s/grafana-dashboard.json");
    static final Path RULES = Repo.root().resolve("k8s/prometheus-rules.yaml");
    private static final Pattern OPERATOR_NAME = Pattern.compile("operator_name=\"([^\"]+)\"");
    /** Dashboard metrics only a job reading from Kafka registers. */
    static final Set<String> KAFKA_SOURCE_ONLY = Set.of("flink_taskmanager_job_task_operator_pendingRecords");
    private static final Pattern METRIC_NAME = Pattern.compile("\\bflink_[a-zA-Z0-9_:]+");

    private PrometheusNames() {}

    /**
     * The name under which Flink's Prometheus reporter exports a metric: its private naming function
     * itself (logical scope of the group + the metric name, characters outside [a-zA-Z0-9:_] replaced),
     * so that a change in Flink shows up here rather than as an empty dashboard.
     */
    static String of(MetricGroup group, String metricName) {
        try {
            Method m = AbstractPrometheusReporter.class.getDeclaredMethod("getScopedName", String.class, MetricGroup.class);
            m.setAccessible(true);
            // a reporter sees each group through a FrontMetricGroup (which knows the logical scope)
            MetricGroup front = group instanceof LogicalScopeProvider ? group
                    : new FrontMetricGroup<>(new ReporterScopedSettings<>(0, '.', null, Set.of(), Map.of()), (AbstractMetricGroup<?>) group);
            return (String) m.invoke(null, metricName, front);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Flink's Prometheus reporter changed: " + e, e);
        }
    }

    /** Every metric name (flink_...) in the dashboard's queries and template variables. */
    static Set<String> queriedByDashboard() throws IOException {
        Set<String> names = new TreeSet<>();
        for (String expr : expressions(new ObjectMapper().readTree(DASHBOARD.toFile()))) {
            Matcher m = METRIC_NAME.matcher(expr);
            while (m.find()) names.add(m.group());
        }
        return names;
    }

    /** Every metric name (flink_...) in the alerting rules of k8s/prometheus-rules.yaml. */
    static Set<String> queriedByRules() throws IOException {
        Set<String> names = new TreeSet<>();
        for (String expr : ruleExpressions()) {
            Matcher m = METRIC_NAME.matcher(expr);
            while (m.find()) names.add(m.group());
        }
        return names;
    }

    static List<String> ruleExpressions() throws IOException {
        JsonNode rules = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(RULES.toFile());
        List<String> out = new ArrayList<>();
        for (JsonNode g : rules.at("/spec/groups")) for (JsonNode r : g.path("rules")) out.add(r.path("expr").asText());
        return out;
    }

    /** The operator names (label operator_name="...") that the dashboard and the rules select on. */
    static Set<String> operatorNamesQueried() throws IOException {
        Set<String> names = new TreeSet<>();
        List<String> exprs = new ArrayList<>(expressions(new ObjectMapper().readTree(DASHBOARD.toFile())));
        exprs.addAll(ruleExpressions());
        for (String expr : exprs) {
            Matcher m = OPERATOR_NAME.matcher(expr);
            while (m.find()) names.add(m.group(1));
        }
        return names;
    }

    /** Every PromQL expression of the dashboard: panel targets' expr and templating queries. */
    static List<String> expressions(JsonNode dashboard) {
        List<String> out = new ArrayList<>();
        collect(dashboard, out);
        return out;
    }

    private static void collect(JsonNode n, List<String> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> {
                if ((e.getKey().equals("expr") || e.getKey().equals("query") || e.getKey().equals("definition")) && e.getValue().isTextual()) {
                    out.add(e.getValue().asText());
                } else if (e.getKey().equals("query") && e.getValue().isObject() && e.getValue().has("query")) {
                    out.add(e.getValue().get("query").asText());
                } else {
                    collect(e.getValue(), out);
                }
            });
        } else if (n.isArray()) {
            n.forEach(c -> collect(c, out));
        }
    }
}
