package io.behaviorcep.deliver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Header values of destinations.yaml with {@code ${NAME}} references to environment variables,
 * resolved on the task manager when the delivery operator opens, so tokens never enter the job graph.
 */
public final class HeaderTemplates {
    static final Pattern REFERENCE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private HeaderTemplates() {}

    /**
     * The environment of this process, falling back to a JVM system property of the same name
     * (for local runs and tests, where a MiniCluster shares the JVM; as {@code JdbcSettings} does).
     */
    public static String fromEnvironment(String name) {
        String v = System.getenv(name);
        return v != null ? v : System.getProperty(name);
    }

    /** The names a template refers to, in order. */
    public static List<String> references(String template) {
        List<String> names = new ArrayList<>();
        Matcher m = REFERENCE.matcher(template);
        while (m.find()) names.add(m.group(1));
        return names;
    }

    /** @throws IllegalStateException naming every variable that is not set (but never a value) */
    public static Map<String, String> resolve(String destination, Map<String, String> templates, UnaryOperator<String> env) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        templates.forEach((header, template) -> {
            Matcher m = REFERENCE.matcher(template);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String v = env.apply(m.group(1));
                if (v == null) {
                    missing.add(m.group(1) + " (header " + header + ")");
                    v = "";
                }
                m.appendReplacement(sb, Matcher.quoteReplacement(v));
            }
            m.appendTail(sb);
            out.put(header, sb.toString());
        });
        if (!missing.isEmpty()) {
            throw new IllegalStateException("destination " + destination + ": environment variable(s) not set on this task manager: "
                    + String.join(", ", missing));
        }
        return out;
    }
}
