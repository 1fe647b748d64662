package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.util.JsonText;


import java.io.Serializable;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An alert's {@code payload} templates, split into literal text and {@code ${step.path}} references
 * once when the pattern is loaded: a pattern with {@code followed_by_any} renders a payload for every
 * raw match, and parsing the templates (and a number regex) per match was a third of the engine's
 * time in the benchmark.
 *
 * <p>A template that is exactly one placeholder keeps the value's JSON type (a number stays a number,
 * unless no JSON reader could take it: see {@link #jsonNumber});
 * mixed text becomes a string; a missing value is null, or empty text inside a string. Fields come
 * out sorted by name.
 */
public final class PayloadTemplate implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");
    /** {@code ${profile.<field>}}: a field of the profile the alert carries. */
    private static final String PROFILE = "profile";

    /** One output field: a single reference (typed) or text parts (literals and references). */
    private record Field(String name, Ref whole, List<Object> parts) implements Serializable {}

    /** {@code ${step.path}}: the path of the step's last matched event; step null for a reference without a dot. */
    private record Ref(String step, String path) implements Serializable {}

    private final List<Field> fields;

    private PayloadTemplate(List<Field> fields) {
        this.fields = fields;
    }

    public static PayloadTemplate compile(Map<String, String> templates) {
        List<Field> fields = new ArrayList<>();
        for (Map.Entry<String, String> t : new TreeMap<>(templates).entrySet()) {
            String template = t.getValue();
            Matcher whole = PLACEHOLDER.matcher(template.trim());
            if (whole.matches()) {
                fields.add(new Field(t.getKey(), ref(whole.group(1)), null));
                continue;
            }
            List<Object> parts = new ArrayList<>();
            Matcher m = PLACEHOLDER.matcher(template);
            int at = 0;
            while (m.find()) {
                if (m.start() > at) parts.add(template.substring(at, m.start()));
                parts.add(ref(m.group(1)));
                at = m.end();
            }
            if (at < template.length()) parts.add(template.substring(at));
            fields.add(new Field(t.getKey(), null, List.copyOf(parts)));
        }
        return new PayloadTemplate(List.copyOf(fields));
    }

    private static Ref ref(String text) {
        String ref = text.trim();
        int dot = ref.indexOf('.');
        return dot < 0 ? new Ref(null, ref) : new Ref(ref.substring(0, dot), ref.substring(dot + 1));
    }

    /**
     * The event paths the templates read of matched events ({@code properties.name} for
     * {@code ${added.properties.name}}); references to the profile are not event paths.
     */
    public java.util.Set<String> eventPaths() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (Field f : fields) {
            if (f.whole != null) add(f.whole, out);
            else for (Object part : f.parts) if (part instanceof Ref r) add(r, out);
        }
        return out;
    }

    private static void add(Ref r, java.util.Set<String> out) {
        // ${profile.x} reads the alert's profile unless a step is named profile: keep both readings
        if (r.step != null) out.add(r.path);
    }

    /**
     * The payload as JSON text, written as Jackson would write the same tree (same escaping, numbers
     * as {@link BigDecimal#toString()}): a raw match is rendered on the engine's hot path, and
     * building and printing a JSON tree per match was most of that.
     */
    public String renderJson(Map<String, List<BehaviorEvent>> match) {
        return renderJson(match, null);
    }

    /**
     * @param profile the profile the alert carries (its anchor event's), for {@code ${profile.<field>}}
     *                and {@code ${profile.traits.<id>}} when the pattern has no step named {@code profile}; may be null
     */
    public String renderJson(Map<String, List<BehaviorEvent>> match, ProfileSnapshot profile) {
        StringBuilder sb = new StringBuilder(64 * fields.size() + 2).append('{');
        for (Field f : fields) {
            if (sb.length() > 1) sb.append(',');
            JsonText.appendQuoted(sb, f.name).append(':');
            if (f.whole != null) {
                String v = lookup(f.whole, match, profile);
                String number = v == null ? null : jsonNumber(v);
                if (v == null) sb.append("null");
                else if (number != null) sb.append(number);
                else JsonText.appendQuoted(sb, v);
                continue;
            }
            sb.append('"');
            for (Object part : f.parts) {
                String v = part instanceof String literal ? literal : lookup((Ref) part, match, profile);
                if (v != null) JsonText.appendEscaped(sb, v);
            }
            sb.append('"');
        }
        return sb.append('}').toString();
    }

    private static String lookup(Ref ref, Map<String, List<BehaviorEvent>> match, ProfileSnapshot profile) {
        if (ref.step == null) return null;
        List<BehaviorEvent> events = match.get(ref.step);
        if (events == null && PROFILE.equals(ref.step)) return profile == null ? null : profile.field(ref.path);
        if (events == null || events.isEmpty()) return null;
        return events.get(events.size() - 1).field(ref.path);
    }

    /**
     * The longest number written: Jackson's default {@code StreamReadConstraints.maxNumberLength}. A
     * longer one made the alert's JSON unreadable to the job itself (and to most consumers).
     */
    static final int MAX_NUMBER_CHARS = 1_000;

    /**
     * {@code v} as a JSON number ({@link BigDecimal#toString()}), or null where it must stay a string:
     * not JSON's number grammar, longer than {@link #MAX_NUMBER_CHARS}, or outside a double's range
     * (overflow to infinity, or a non-zero value that underflows to 0), which readers that parse
     * numbers as doubles (Jackson's default, JavaScript) would silently turn into something else. Never
     * throws: the input is anyone's, and a throw here fails the job on every restore of the match.
     */
    static String jsonNumber(String v) {
        if (v.length() > MAX_NUMBER_CHARS || !isNumber(v)) return null;
        double d = Double.parseDouble(v);
        if (Double.isInfinite(d) || (d == 0 && hasNonZeroDigit(v))) return null;
        try {
            String s = new BigDecimal(v).toString();
            return s.length() <= MAX_NUMBER_CHARS ? s : null;
        } catch (NumberFormatException | ArithmeticException e) {
            return null; // an exponent BigDecimal cannot hold, e.g. 0e99999999999
        }
    }

    /** A non-zero digit before the exponent. */
    private static boolean hasNonZeroDigit(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == 'e' || c == 'E') return false;
            if (c >= '1' && c <= '9') return true;
        }
        return false;
    }

    /** JSON's number grammar: {@code -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?}, without a regex. */
    static boolean isNumber(String v) {
        int i = 0;
        int n = v.length();
        if (i < n && v.charAt(i) == '-') i++;
        if (i >= n) return false;
        if (v.charAt(i) == '0') {
            i++;
        } else if (v.charAt(i) >= '1' && v.charAt(i) <= '9') {
            while (i < n && isDigit(v.charAt(i))) i++;
        } else {
            return false;
        }
        if (i < n && v.charAt(i) == '.') {
            int start = ++i;
            while (i < n && isDigit(v.charAt(i))) i++;
            if (i == start) return false;
        }
        if (i < n && (v.charAt(i) == 'e' || v.charAt(i) == 'E')) {
            i++;
            if (i < n && (v.charAt(i) == '+' || v.charAt(i) == '-')) i++;
            int start = i;
            while (i < n && isDigit(v.charAt(i))) i++;
            if (i == start) return false;
        }
        return i == n;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
