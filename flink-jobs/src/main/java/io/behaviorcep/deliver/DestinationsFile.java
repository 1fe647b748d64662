package io.behaviorcep.deliver;

import io.behaviorcep.util.EditDistance;
import io.behaviorcep.util.LocatedYaml;
import io.behaviorcep.util.LocatedYaml.Entry;
import io.behaviorcep.util.LocatedYaml.Mapping;
import io.behaviorcep.util.LocatedYaml.Node;
import io.behaviorcep.util.LocatedYaml.Scalar;
import io.behaviorcep.util.LocatedYaml.Sequence;
import io.behaviorcep.pattern.Durations;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads {@code destinations.yaml} (format in docs/operations.md, "Delivering alerts as webhooks") with
 * Jackson YAML's streaming parser, keeping where every key and value is written, and reports every
 * problem at once as {@code FILE:LINE:COL: message}, as the pattern files do.
 */
public final class DestinationsFile {
    /** Names become operator uids ({@code deliver-<name>}) and metric names: keep them plain. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    /** Set by the delivery itself; a destination may not override them. */
    private static final Set<String> RESERVED_HEADERS = Set.of("content-type", "content-length", "idempotency-key",
            WebhookSignature.HEADER.toLowerCase(), "host", "connection", "expect", "upgrade");

    static final List<String> DESTINATION_KEYS = List.of("name", "url", "alert_types", "severities", "headers", "signing_secret_env",
            "timeout", "rate_limit", "max_in_flight", "retry");
    static final List<String> RETRY_KEYS = List.of("max_attempts", "max_total_time", "initial_backoff", "max_backoff");

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    static final int DEFAULT_MAX_IN_FLIGHT = 100;

    public record Result(List<Destination> destinations, List<FileProblem> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }

        /** @throws InvalidDestinationsException listing every problem */
        public List<Destination> orThrow() {
            if (!ok()) throw new InvalidDestinationsException(problems);
            return destinations;
        }
    }

    private DestinationsFile() {}

    public static Result read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return new Result(List.of(), List.of(new FileProblem(file.toString(), 1, 1, "cannot read: " + e)));
        }
        return parse(file.toString(), bytes);
    }

    public static Result parse(String fileName, byte[] bytes) {
        Reader r = new Reader(fileName);
        r.run(bytes);
        return new Result(r.problems.isEmpty() ? List.copyOf(r.destinations) : List.of(), List.copyOf(r.problems));
    }

    private static final class Reader {
        final String file;
        final List<FileProblem> problems = new ArrayList<>();
        final List<Destination> destinations = new ArrayList<>();

        Reader(String file) {
            this.file = file;
        }

        void run(byte[] bytes) {
            try {
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes));
            } catch (CharacterCodingException e) {
                problem(1, 1, "not UTF-8 text");
                return;
            }
            Node root;
            try (JsonParser p = new YAMLFactory().createParser(bytes)) {
                JsonToken t = p.nextToken();
                if (t == null) {
                    problem(1, 1, "the file is empty; it needs 'destinations:' with at least one destination");
                    return;
                }
                root = LocatedYaml.node(p, this::problem);
            } catch (JsonProcessingException e) {
                JsonLocation at = e.getLocation();
                problem(at == null ? 1 : Math.max(1, at.getLineNr()), at == null ? 1 : Math.max(1, at.getColumnNr()),
                        "YAML syntax: " + e.getOriginalMessage());
                return;
            } catch (IOException e) {
                problem(1, 1, "cannot read: " + e);
                return;
            }
            if (!(root instanceof Mapping top)) {
                problem(root, "expected a mapping with the key 'destinations'");
                return;
            }
            unknownKeys(top, List.of("destinations"), "the file");
            Entry list = top.entries().get("destinations");
            if (list == null) {
                problem(top, "missing key 'destinations' (a list of destinations)");
                return;
            }
            if (!(list.value() instanceof Sequence seq) || seq.items().isEmpty()) {
                problem(list.value(), "'destinations' must be a list of at least one destination");
                return;
            }
            Map<String, Node> seen = new HashMap<>();
            for (Node item : seq.items()) {
                Destination d = destination(item);
                // names are compared even when a destination has other problems: both would be reported at once
                Entry name = item instanceof Mapping m ? m.entries().get("name") : null;
                if (name != null && name.value() instanceof Scalar s && !s.isNull()) {
                    Node earlier = seen.putIfAbsent(s.text(), item);
                    if (earlier != null) {
                        problem(s, "duplicate destination name '" + s.text() + "' (the first is on line " + earlier.line() + ")");
                        continue;
                    }
                }
                if (d != null) destinations.add(d);
            }
        }

        Destination destination(Node item) {
            if (!(item instanceof Mapping m)) {
                problem(item, "a destination must be a mapping with at least 'name' and 'url'");
                return null;
            }
            int before = problems.size();
            unknownKeys(m, DESTINATION_KEYS, "destination");
            String name = requiredText(m, "name");
            if (name != null && !NAME.matcher(name).matches()) {
                problem(m.entries().get("name").value(), "destination name '" + name
                        + "' must be lower-case letters, digits and '-' (at most 63), as it names the operator deliver-" + name);
            }
            String url = requiredText(m, "url");
            if (url != null) checkUrl(m.entries().get("url").value(), url);
            Set<String> alertTypes = textSet(m, "alert_types");
            Set<String> severities = textSet(m, "severities");
            Map<String, String> headers = headers(m);
            String secretEnv = optionalText(m, "signing_secret_env");
            if (secretEnv == null) {
                problem(m, "missing key 'signing_secret_env' (the environment variable holding the destination's signing secret): "
                        + "every request is signed");
            } else if (!ENV_NAME.matcher(secretEnv).matches()) {
                problem(m.entries().get("signing_secret_env").value(), "'" + secretEnv + "' is not an environment variable name");
            }
            Duration timeout = duration(m, "timeout", DEFAULT_TIMEOUT);
            double rate = number(m, "rate_limit", 0, 0, 1_000_000);
            int capacity = (int) number(m, "max_in_flight", DEFAULT_MAX_IN_FLIGHT, 1, 10_000);
            RetryPolicy retry = retry(m);
            if (problems.size() > before) return null;
            return new Destination(name, url, alertTypes, severities, headers, secretEnv, timeout, rate, capacity, retry);
        }

        RetryPolicy retry(Mapping destination) {
            Entry e = destination.entries().get("retry");
            RetryPolicy d = RetryPolicy.DEFAULT;
            if (e == null) return d;
            if (!(e.value() instanceof Mapping m)) {
                problem(e.value(), "'retry' must be a mapping of " + String.join(", ", RETRY_KEYS));
                return d;
            }
            unknownKeys(m, RETRY_KEYS, "retry");
            int attempts = (int) number(m, "max_attempts", d.maxAttempts(), 1, 1000);
            Duration total = duration(m, "max_total_time", d.maxTotalTime());
            Duration initial = duration(m, "initial_backoff", d.initialBackoff());
            Duration max = duration(m, "max_backoff", d.maxBackoff());
            if (initial.compareTo(max) > 0) {
                problem(m.entries().containsKey("initial_backoff") ? m.entries().get("initial_backoff").value() : m,
                        "initial_backoff (" + Durations.format(initial) + ") is longer than max_backoff (" + Durations.format(max) + ")");
            }
            return new RetryPolicy(attempts, total, initial, max);
        }

        Map<String, String> headers(Mapping m) {
            Entry e = m.entries().get("headers");
            if (e == null) return Map.of();
            if (!(e.value() instanceof Mapping hm)) {
                problem(e.value(), "'headers' must be a mapping of header name to value, e.g. Authorization: \"Bearer ${TOKEN}\"");
                return Map.of();
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (Entry h : hm.entries().values()) {
                if (!HEADER_NAME.matcher(h.key()).matches()) {
                    problems.add(new FileProblem(file, h.keyLine(), h.keyColumn(), "'" + h.key() + "' is not a valid HTTP header name"));
                    continue;
                }
                if (RESERVED_HEADERS.contains(h.key().toLowerCase())) {
                    problems.add(new FileProblem(file, h.keyLine(), h.keyColumn(), "header '" + h.key() + "' is set by the delivery itself"));
                    continue;
                }
                if (!(h.value() instanceof Scalar s) || s.isNull()) {
                    problem(h.value(), "the value of header '" + h.key() + "' must be text");
                    continue;
                }
                String withoutReferences = HeaderTemplates.REFERENCE.matcher(s.text()).replaceAll("");
                if (withoutReferences.contains("${")) {
                    problem(s, "header '" + h.key() + "': write an environment variable as ${NAME} (letters, digits, '_')");
                    continue;
                }
                if (HeaderTemplates.references(s.text()).isEmpty() && h.key().equalsIgnoreCase("authorization")) {
                    // a literal token would sit in the job graph, the ConfigMap and every log that prints the file
                    problem(s, "header 'Authorization' holds a literal value; take it from the environment: \"Bearer ${TOKEN_ENV}\"");
                    continue;
                }
                out.put(h.key(), s.text());
            }
            return Collections.unmodifiableMap(out);
        }

        void checkUrl(Node at, String url) {
            try {
                URI u = new URI(url);
                if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                    problem(at, "url '" + url + "' must be an absolute http:// or https:// URL");
                }
            } catch (URISyntaxException e) {
                problem(at, "url '" + url + "' is not a URL: " + e.getReason());
            }
        }

        Set<String> textSet(Mapping m, String key) {
            Entry e = m.entries().get(key);
            if (e == null) return Set.of();
            if (e.value() instanceof Scalar s && !s.isNull()) return Set.of(s.text());
            if (!(e.value() instanceof Sequence seq) || seq.items().isEmpty()) {
                problem(e.value(), "'" + key + "' must be a non-empty list, e.g. [cart_abandoned]; leave it out to match every value");
                return Set.of();
            }
            Set<String> out = new LinkedHashSet<>();
            for (Node n : seq.items()) {
                if (n instanceof Scalar s && !s.isNull()) out.add(s.text());
                else problem(n, "the items of '" + key + "' must be text");
            }
            return Collections.unmodifiableSet(out);
        }

        String requiredText(Mapping m, String key) {
            if (!m.entries().containsKey(key)) {
                problem(m, "missing key '" + key + "'");
                return null;
            }
            return optionalText(m, key);
        }

        String optionalText(Mapping m, String key) {
            Entry e = m.entries().get(key);
            if (e == null) return null;
            if (e.value() instanceof Scalar s && !s.isNull() && !s.text().isBlank()) return s.text();
            problem(e.value(), "'" + key + "' must be text");
            return null;
        }

        Duration duration(Mapping m, String key, Duration fallback) {
            Entry e = m.entries().get(key);
            if (e == null) return fallback;
            if (e.value() instanceof Scalar s && !s.isNull()) {
                try {
                    return Durations.parse(s.text());
                } catch (IllegalArgumentException ex) {
                    problem(s, key + ": " + ex.getMessage());
                    return fallback;
                }
            }
            problem(e.value(), "'" + key + "' must be a duration such as 500ms, 10s, 5m");
            return fallback;
        }

        double number(Mapping m, String key, double fallback, double min, double max) {
            Entry e = m.entries().get(key);
            if (e == null) return fallback;
            if (e.value() instanceof Scalar s && !s.isNull()) {
                try {
                    double v = Double.parseDouble(s.text());
                    if (v >= min && v <= max) return v;
                } catch (NumberFormatException ignored) {
                    // reported below
                }
            }
            problem(e.value(), "'" + key + "' must be a number from " + fmt(min) + " to " + fmt(max));
            return fallback;
        }

        private static String fmt(double d) {
            return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
        }

        void unknownKeys(Mapping m, List<String> known, String where) {
            for (Entry e : m.entries().values()) {
                if (known.contains(e.key())) continue;
                String best = null;
                int bestDistance = Integer.MAX_VALUE;
                for (String k : known) {
                    int d = EditDistance.between(e.key(), k);
                    if (d < bestDistance) {
                        bestDistance = d;
                        best = k;
                    }
                }
                String hint = bestDistance <= 2 ? ", did you mean '" + best + "'?" : " (known: " + String.join(", ", known) + ")";
                problems.add(new FileProblem(file, e.keyLine(), e.keyColumn(), "unknown key '" + e.key() + "' in " + where + hint));
            }
        }

        void problem(Node at, String message) {
            problem(at.line(), at.column(), message);
        }

        void problem(int line, int column, String message) {
            problems.add(new FileProblem(file, Math.max(1, line), Math.max(1, column), message));
        }
    }
}
