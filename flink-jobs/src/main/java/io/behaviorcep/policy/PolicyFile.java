package io.behaviorcep.policy;

import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.Example;
import io.behaviorcep.util.EditDistance;
import io.behaviorcep.util.LocatedYaml;
import io.behaviorcep.util.LocatedYaml.Entry;
import io.behaviorcep.util.LocatedYaml.Mapping;
import io.behaviorcep.util.LocatedYaml.Node;
import io.behaviorcep.util.LocatedYaml.Scalar;
import io.behaviorcep.util.LocatedYaml.Sequence;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a {@code kind: policy} file (format in docs/pattern-language.md, "The messaging policy") with
 * Jackson YAML's streaming parser, keeping where every key and value is written, and reports every
 * problem at once as {@code FILE:LINE:COL: message}, as the pattern files do.
 */
public final class PolicyFile {
    /** The policy's usual name in the patterns folder: read when {@code policy.file} is not set. */
    public static final String DEFAULT_NAME = "policy.yaml";
    static final List<String> TOP_KEYS = List.of("kind", "description", "owner", "default_channel", "timezone_fallback",
            "compete_within", "priorities", "channels", "examples");
    static final List<String> CHANNEL_KEYS = List.of("name", "patterns", "alert_types", "cap", "quiet_hours");
    static final List<String> CAP_KEYS = List.of("max", "per");
    static final List<String> QUIET_KEYS = List.of("from", "to", "action", "timezone");
    static final List<String> EXAMPLE_KEYS = List.of("name", "patterns", "events", "until", "expect");
    static final List<String> EVENT_KEYS = List.of("at", "user", "type", "event", "name", "message_id", "properties", "context", "traits");
    static final List<String> EXPECT_KEYS = List.of("alerts", "decisions");
    static final List<String> EXPECTED_KEYS = List.of("at", "user", "type", "reason");
    static final Set<String> REASONS = Set.of(AlertDecision.GLOBAL_CAP, AlertDecision.PRIORITY, AlertDecision.QUIET_HOURS_DELAYED,
            AlertDecision.QUIET_HOURS_DROPPED, AlertDecision.QUIET_HOURS_RELEASED, AlertDecision.SUPPRESSED);
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-_a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern CLOCK = Pattern.compile("([01][0-9]|2[0-3]):[0-5][0-9]");
    /** More would be a mistake, and the per-user state holds up to {@code max} send times per channel. */
    static final int MAX_CAP = 1000;

    public record Result(PolicyDefinition policy, List<PolicyProblem> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }

        /** @throws InvalidPolicyException listing every problem */
        public PolicyDefinition orThrow() {
            if (!ok()) throw new InvalidPolicyException(problems);
            return policy;
        }
    }

    private PolicyFile() {}

    public static Result read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return new Result(null, List.of(new PolicyProblem(file.toString(), 1, 1, "cannot read: " + e)));
        }
        return parse(file.toString(), bytes);
    }

    public static Result parse(String fileName, byte[] bytes) {
        Reader r = new Reader(fileName);
        PolicyDefinition p = r.run(bytes);
        return new Result(r.problems.isEmpty() ? p : null, List.copyOf(r.problems));
    }

    /** Whether YAML text declares {@code kind: policy} (a cheap look before a full read). */
    public static boolean declaresPolicy(String yaml) {
        return Pattern.compile("(?m)^kind:\\s*['\"]?policy['\"]?\\s*(#.*)?$").matcher(yaml).find();
    }

    private static final class Reader {
        final String file;
        final List<PolicyProblem> problems = new ArrayList<>();

        Reader(String file) {
            this.file = file;
        }

        PolicyDefinition run(byte[] bytes) {
            try {
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes));
            } catch (CharacterCodingException e) {
                problem(1, 1, "not UTF-8 text");
                return null;
            }
            Node root;
            try (JsonParser p = new YAMLFactory().createParser(bytes)) {
                if (p.nextToken() == null) {
                    problem(1, 1, "the file is empty; a policy needs 'kind: policy' and at least one channel");
                    return null;
                }
                root = LocatedYaml.node(p, this::problem);
            } catch (JsonProcessingException e) {
                JsonLocation at = e.getLocation();
                problem(at == null ? 1 : Math.max(1, at.getLineNr()), at == null ? 1 : Math.max(1, at.getColumnNr()),
                        "YAML syntax: " + e.getOriginalMessage());
                return null;
            } catch (IOException e) {
                problem(1, 1, "cannot read: " + e);
                return null;
            }
            if (!(root instanceof Mapping top)) {
                problem(root, "expected a mapping with 'kind: policy' and 'channels'");
                return null;
            }
            unknownKeys(top, TOP_KEYS, "the policy");
            String kind = text(top, "kind");
            if (!"policy".equals(kind)) problem(at(top, "kind"), "a policy file starts with 'kind: policy'");

            Map<String, PolicyDefinition.Channel> channels = new LinkedHashMap<>();
            Map<String, Node> claimedPattern = new HashMap<>();
            Map<String, Node> claimedType = new HashMap<>();
            Entry list = top.entries().get("channels");
            if (list == null || !(list.value() instanceof Sequence seq) || seq.items().isEmpty()) {
                problem(list == null ? top : list.value(), "'channels' must be a list of at least one channel");
            } else {
                for (Node item : seq.items()) {
                    PolicyDefinition.Channel c = channel(item, claimedPattern, claimedType);
                    if (c == null) continue;
                    if (channels.containsKey(c.name())) problem(at((Mapping) item, "name"), "duplicate channel name '" + c.name() + "'");
                    else channels.put(c.name(), c);
                }
            }
            String defaultChannel = text(top, "default_channel");
            if (defaultChannel == null) {
                if (channels.size() == 1) defaultChannel = channels.keySet().iterator().next();
                else if (!channels.isEmpty()) problem(top, "missing 'default_channel': with several channels, name the one for alerts no channel lists");
            } else if (!channels.isEmpty() && !channels.containsKey(defaultChannel)) {
                problem(at(top, "default_channel"), "default_channel '" + defaultChannel + "' is not a channel" + didYouMean(defaultChannel, channels.keySet()));
            }
            ZoneId fallback = ZoneId.of("UTC");
            String zone = text(top, "timezone_fallback");
            if (zone != null) {
                try {
                    fallback = ZoneId.of(zone);
                } catch (RuntimeException e) {
                    problem(at(top, "timezone_fallback"), "'" + zone + "' is not a time zone id (e.g. UTC, Europe/Berlin, America/New_York)");
                }
            }
            long compete = 0;
            String competeText = text(top, "compete_within");
            if (competeText != null) {
                try {
                    compete = Durations.parse(competeText).toMillis();
                } catch (RuntimeException e) {
                    problem(at(top, "compete_within"), "compete_within: " + e.getMessage());
                }
            }
            List<String> priorities = new ArrayList<>();
            Entry pr = top.entries().get("priorities");
            if (pr != null) {
                for (Scalar s : scalars(pr.value(), "priorities", "alert types, highest priority first")) {
                    if (priorities.contains(s.text())) problem(s, "alert type '" + s.text() + "' is listed twice in priorities");
                    else priorities.add(s.text());
                }
            }
            List<PolicyExample> examples = new ArrayList<>();
            Entry ex = top.entries().get("examples");
            if (ex != null) {
                if (!(ex.value() instanceof Sequence s)) problem(ex.value(), "'examples' must be a list");
                else for (Node n : s.items()) {
                    PolicyExample e = example(n);
                    if (e != null) examples.add(e);
                }
            }
            if (!problems.isEmpty()) return null;
            return new PolicyDefinition(file, channels, defaultChannel, priorities, compete, fallback, examples);
        }

        PolicyDefinition.Channel channel(Node item, Map<String, Node> claimedPattern, Map<String, Node> claimedType) {
            if (!(item instanceof Mapping m)) {
                problem(item, "a channel must be a mapping with at least 'name'");
                return null;
            }
            int before = problems.size();
            unknownKeys(m, CHANNEL_KEYS, "channel");
            String name = text(m, "name");
            if (name == null) problem(m, "a channel needs 'name'");
            else if (!NAME.matcher(name).matches()) problem(at(m, "name"), "channel name '" + name + "' must be lower-case letters, digits, '-' or '_'");
            Set<String> patterns = claims(m, "patterns", claimedPattern, "pattern id");
            Set<String> types = claims(m, "alert_types", claimedType, "alert type");
            PolicyDefinition.Cap cap = null;
            Entry capEntry = m.entries().get("cap");
            if (capEntry != null) {
                if (!(capEntry.value() instanceof Mapping c)) problem(capEntry.value(), "'cap' must be a mapping with 'max' and 'per'");
                else {
                    unknownKeys(c, CAP_KEYS, "cap");
                    Integer max = null;
                    String maxText = text(c, "max");
                    if (maxText == null) problem(c, "a cap needs 'max' (alerts per user)");
                    else {
                        try {
                            max = Integer.parseInt(maxText);
                            if (max < 1 || max > MAX_CAP) throw new NumberFormatException();
                        } catch (NumberFormatException e) {
                            problem(at(c, "max"), "cap max must be a whole number from 1 to " + MAX_CAP + ", not '" + maxText + "'");
                            max = null;
                        }
                    }
                    Long per = null;
                    String perText = text(c, "per");
                    if (perText == null) problem(c, "a cap needs 'per' (a window of event time, e.g. 24h)");
                    else {
                        try {
                            per = Durations.parse(perText).toMillis();
                            if (per <= 0) {
                                problem(at(c, "per"), "cap per must be longer than 0");
                                per = null;
                            }
                        } catch (RuntimeException e) {
                            problem(at(c, "per"), "cap per: " + e.getMessage());
                        }
                    }
                    if (max != null && per != null) cap = new PolicyDefinition.Cap(max, per);
                }
            }
            PolicyDefinition.QuietHours quiet = null;
            Entry q = m.entries().get("quiet_hours");
            if (q != null) {
                if (!(q.value() instanceof Mapping qm)) problem(q.value(), "'quiet_hours' must be a mapping with 'from', 'to' and 'action'");
                else {
                    unknownKeys(qm, QUIET_KEYS, "quiet_hours");
                    LocalTime from = clock(qm, "from");
                    LocalTime to = clock(qm, "to");
                    if (from != null && from.equals(to)) problem(at(qm, "to"), "quiet_hours from and to are the same time; the window would be empty");
                    String action = text(qm, "action");
                    PolicyDefinition.QuietAction a = null;
                    if (action == null) problem(qm, "quiet_hours need 'action': delay or drop");
                    else if (action.equals("delay")) a = PolicyDefinition.QuietAction.DELAY;
                    else if (action.equals("drop")) a = PolicyDefinition.QuietAction.DROP;
                    else problem(at(qm, "action"), "quiet_hours action is 'delay' or 'drop', not '" + action + "'");
                    if (qm.entries().containsKey("timezone")) {
                        problem(at(qm, "timezone"), "quiet hours are in each user's zone (the event's context.timezone); set the fallback with the top-level 'timezone_fallback'");
                    }
                    if (from != null && to != null && a != null && !from.equals(to)) quiet = new PolicyDefinition.QuietHours(from, to, a);
                }
            }
            return problems.size() == before ? new PolicyDefinition.Channel(name, patterns, types, cap, quiet) : null;
        }

        Set<String> claims(Mapping m, String key, Map<String, Node> claimed, String what) {
            Set<String> out = new LinkedHashSet<>();
            Entry e = m.entries().get(key);
            if (e == null) return out;
            for (Scalar s : scalars(e.value(), key, what + "s")) {
                Node earlier = claimed.putIfAbsent(s.text(), s);
                if (earlier != null) problem(s, what + " '" + s.text() + "' is already in a channel (line " + earlier.line() + "); an alert belongs to one channel");
                else out.add(s.text());
            }
            return out;
        }

        LocalTime clock(Mapping m, String key) {
            String t = text(m, key);
            if (t == null) {
                problem(m, "quiet_hours need '" + key + "' (a local time, HH:MM)");
                return null;
            }
            if (!CLOCK.matcher(t).matches()) {
                problem(at(m, key), "quiet_hours " + key + " must be a local time HH:MM (00:00 to 23:59), not '" + t + "'");
                return null;
            }
            try {
                return LocalTime.parse(t);
            } catch (DateTimeParseException e) {
                problem(at(m, key), "quiet_hours " + key + ": " + e.getMessage());
                return null;
            }
        }

        PolicyExample example(Node n) {
            if (!(n instanceof Mapping m)) {
                problem(n, "an example must be a mapping with 'name', 'events' and 'expect'");
                return null;
            }
            int before = problems.size();
            unknownKeys(m, EXAMPLE_KEYS, "example");
            String name = text(m, "name");
            if (name == null) problem(m, "an example needs 'name'");
            List<String> patterns = null;
            if (m.entries().containsKey("patterns")) {
                patterns = new ArrayList<>();
                for (Scalar s : scalars(m.entries().get("patterns").value(), "patterns", "pattern ids")) patterns.add(s.text());
            }
            List<Example.Event> events = new ArrayList<>();
            Entry ev = m.entries().get("events");
            if (ev == null || !(ev.value() instanceof Sequence seq) || seq.items().isEmpty()) {
                problem(ev == null ? m : ev.value(), "an example needs 'events': a list of at least one event");
            } else {
                for (Node e : seq.items()) {
                    Example.Event event = event(e);
                    if (event != null) events.add(event);
                }
            }
            long until = events.stream().mapToLong(Example.Event::at).max().orElse(0);
            if (m.entries().containsKey("until")) {
                Long u = offset(m.entries().get("until").value());
                if (u != null) until = u;
            }
            List<PolicyExample.Expected> alerts = null;
            List<PolicyExample.Expected> decisions = null;
            Entry expect = m.entries().get("expect");
            if (expect == null) problem(m, "an example needs 'expect' (alerts and/or decisions)");
            else if (expect.value() instanceof Scalar s && "nothing".equals(s.text())) {
                alerts = List.of();
                decisions = List.of();
            } else if (!(expect.value() instanceof Mapping em)) {
                problem(expect.value(), "'expect' is 'nothing' or a mapping with 'alerts' and/or 'decisions'");
            } else {
                unknownKeys(em, EXPECT_KEYS, "expect");
                if (em.entries().containsKey("alerts")) alerts = expected(em.entries().get("alerts").value(), false);
                if (em.entries().containsKey("decisions")) decisions = expected(em.entries().get("decisions").value(), true);
            }
            if (problems.size() != before) return null;
            return new PolicyExample(name, m.line(), patterns, events, until, alerts, decisions);
        }

        List<PolicyExample.Expected> expected(Node n, boolean decisions) {
            List<PolicyExample.Expected> out = new ArrayList<>();
            if (!(n instanceof Sequence s)) {
                problem(n, "expected outcomes are a list, e.g. [{at: 30m, type: checkout_abandoned}]");
                return out;
            }
            for (Node item : s.items()) {
                if (!(item instanceof Mapping m)) {
                    problem(item, "an expected outcome is a mapping with 'at'");
                    continue;
                }
                unknownKeys(m, decisions ? EXPECTED_KEYS : EXPECTED_KEYS.subList(0, 3), decisions ? "expected decision" : "expected alert");
                Long at = m.entries().containsKey("at") ? offset(m.entries().get("at").value()) : null;
                if (!m.entries().containsKey("at")) problem(m, "an expected outcome needs 'at' (when it is decided, from the example's start)");
                String user = text(m, "user");
                String reason = decisions ? text(m, "reason") : null;
                if (reason != null && !REASONS.contains(reason)) problem(at(m, "reason"), "unknown reason '" + reason + "'" + didYouMean(reason, REASONS));
                if (at != null) out.add(new PolicyExample.Expected(at, user == null ? "user" : user, text(m, "type"), reason));
            }
            return out;
        }

        Example.Event event(Node n) {
            if (!(n instanceof Mapping m)) {
                problem(n, "an example event must be a mapping with 'at'");
                return null;
            }
            unknownKeys(m, EVENT_KEYS, "example event");
            Long at = m.entries().containsKey("at") ? offset(m.entries().get("at").value()) : null;
            if (!m.entries().containsKey("at")) problem(m, "an example event needs 'at' (time from the example's start, e.g. 0m, 15m, 2d)");
            Map<String, Object> json = new LinkedHashMap<>();
            for (String key : List.of("type", "event", "name")) if (text(m, key) != null) json.put(key, text(m, key));
            json.putIfAbsent("type", "track");
            for (String key : List.of("properties", "context", "traits")) if (m.entries().containsKey(key)) json.put(key, java(m.entries().get(key).value()));
            String user = text(m, "user");
            return at == null ? null : new Example.Event(at, user == null ? "user" : user, json, text(m, "message_id"));
        }

        Object java(Node n) {
            if (n instanceof Mapping m) {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Entry e : m.entries().values()) out.put(e.key(), java(e.value()));
                return out;
            }
            if (n instanceof Sequence s) {
                List<Object> out = new ArrayList<>();
                for (Node i : s.items()) out.add(java(i));
                return out;
            }
            Scalar s = (Scalar) n;
            if (s.isNull()) return null;
            String t = s.text();
            try {
                return t.matches("-?\\d+") ? (Object) Long.parseLong(t) : t.matches("-?\\d+\\.\\d+") ? (Object) Double.parseDouble(t) : t;
            } catch (NumberFormatException e) {
                return t;
            }
        }

        Long offset(Node n) {
            if (!(n instanceof Scalar s) || s.isNull()) {
                problem(n, "expected a time from the example's start, e.g. 0m, 15m, 1d2h");
                return null;
            }
            try {
                return Durations.parseOffset(s.text());
            } catch (IllegalArgumentException e) {
                problem(n, e.getMessage());
                return null;
            }
        }

        /** A plain text value, or null when absent (a problem when it is not a scalar). */
        String text(Mapping m, String key) {
            Entry e = m.entries().get(key);
            if (e == null) return null;
            if (!(e.value() instanceof Scalar s)) {
                problem(e.value(), "'" + key + "' must be a single value");
                return null;
            }
            return s.isNull() ? null : s.text();
        }

        List<Scalar> scalars(Node n, String key, String what) {
            List<Scalar> out = new ArrayList<>();
            if (!(n instanceof Sequence s)) {
                problem(n, "'" + key + "' must be a list of " + what);
                return out;
            }
            for (Node i : s.items()) {
                if (i instanceof Scalar sc && !sc.isNull() && !sc.text().isBlank()) out.add(sc);
                else problem(i, "'" + key + "' holds " + what + ", each a single value");
            }
            return out;
        }

        Node at(Mapping m, String key) {
            Entry e = m.entries().get(key);
            return e == null ? m : e.value();
        }

        void unknownKeys(Mapping m, List<String> known, String where) {
            for (Entry e : m.entries().values()) {
                if (!known.contains(e.key())) {
                    problem(e.keyLine(), e.keyColumn(), "unknown key '" + e.key() + "' in " + where + didYouMean(e.key(), known));
                }
            }
        }

        static String didYouMean(String word, java.util.Collection<String> known) {
            String best = null;
            int bestDistance = 3;
            for (String k : known) {
                int d = EditDistance.between(word, k);
                if (d < bestDistance) {
                    best = k;
                    bestDistance = d;
                }
            }
            return best == null ? "" : ", did you mean '" + best + "'?";
        }

        void problem(Node at, String message) {
            problem(at.line(), at.column(), message);
        }

        void problem(int line, int column, String message) {
            problems.add(new PolicyProblem(file, Math.max(1, line), Math.max(1, column), message));
        }
    }
}
