package io.behaviorcep.experiment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The experiment report over decision outcomes (docs/experiments.md): per pattern, version,
 * experiment and arm the exposed and converted users, the conversion rate and the value per user, and
 * for every arm but the control its lift against the control with 95 % intervals and p-values
 * ({@link ProportionComparison}, {@link MeanComparison}).
 *
 * <p>Counted per user: exposed = distinct users with a decision in the arm, converted = distinct users
 * with a converted decision, a user's value = the sum of the values of their converted decisions (0 for
 * a user without), value per user = the mean of that over the exposed users.
 *
 * <p>The control of an experiment is its holdout arm: an arm other than {@value #GLOBAL_HOLDOUT} whose
 * decisions are all holdouts (the first by name if there are several). Without one, the
 * {@value #GLOBAL_HOLDOUT} arm of the same pattern, version and experiment, else the
 * {@value #GLOBAL_HOLDOUT} arm of the same pattern and version without experiment (then listed with
 * the experiment's arms, and on its own only if the pattern also has arms without experiment).
 *
 * <p>Warnings (the normal approximations behind the intervals are unreliable): an arm with fewer than
 * {@value #MIN_EXPOSED} exposed users; a comparison where either arm expects fewer than
 * {@value #MIN_EXPECTED_CONVERSIONS} conversions or non-conversions at the two arms' pooled rate; an
 * arm with nothing to compare with.
 */
public final class ExperimentReport {
    public static final String GLOBAL_HOLDOUT = "global_holdout";
    public static final int MIN_EXPOSED = 100;
    public static final int MIN_EXPECTED_CONVERSIONS = 10;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One arm of one experiment of one pattern version; {@code experimentId} null without experiment. */
    public record ArmKey(String patternId, int patternVersion, String experimentId, String arm) {
        public ArmKey {
            Objects.requireNonNull(patternId, "patternId");
            Objects.requireNonNull(arm, "arm");
        }

        GroupKey group() {
            return new GroupKey(patternId, patternVersion, experimentId);
        }
    }

    /** The arms that are compared with one another. */
    public record GroupKey(String patternId, int patternVersion, String experimentId) {}

    /**
     * One arm's figures.
     *
     * @param holdout      every decision of the arm was a holdout (no alert sent)
     * @param values       the per-user values (count, mean, variance)
     * @param control      the arm it is compared with; null for the control itself and when there is none
     * @param conversion   against the control; null when not compared
     * @param value        against the control; null when not compared
     */
    public record Arm(ArmKey key, boolean holdout, long exposed, long converted, double rate, double valuePerUser, SampleSummary values,
                      ArmKey control, ProportionComparison conversion, MeanComparison value, List<String> warnings) {}

    /** The arms of one pattern version's experiment, the control (if any) first. */
    public record Group(GroupKey key, ArmKey control, List<Arm> arms) {}

    private final List<Group> groups;

    private ExperimentReport(List<Group> groups) {
        this.groups = List.copyOf(groups);
    }

    public static ExperimentReport of(Collection<OutcomeRow> rows) {
        Builder b = builder();
        rows.forEach(b::add);
        return b.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public List<Group> groups() {
        return groups;
    }

    public boolean isEmpty() {
        return groups.isEmpty();
    }

    /** The groups of one experiment only (their arms keep their control, also one borrowed from outside the experiment). */
    public ExperimentReport ofExperiment(String experimentId) {
        return new ExperimentReport(groups.stream().filter(g -> experimentId.equals(g.key().experimentId())).toList());
    }

    /** The arm of {@code key}, if reported. */
    public java.util.Optional<Arm> arm(ArmKey key) {
        return groups.stream().flatMap(g -> g.arms().stream()).filter(a -> a.key().equals(key)).findFirst();
    }

    /**
     * Collects outcomes, either raw rows ({@link #add}: counted per user here) or users already summed
     * up elsewhere, e.g. by SQL ({@link #addUser}). A user must reach the builder by one way only.
     */
    public static final class Builder {
        private final Map<ArmKey, Totals> arms = new HashMap<>();
        private final Map<ArmKey, Map<String, UserTotals>> users = new HashMap<>();

        private Builder() {
        }

        public Builder add(OutcomeRow row) {
            ArmKey key = new ArmKey(row.patternId(), row.patternVersion(), row.experimentId(), row.arm());
            UserTotals u = users.computeIfAbsent(key, k -> new HashMap<>()).computeIfAbsent(row.userId(), k -> new UserTotals());
            u.holdout &= row.holdout();
            u.converted |= row.converted();
            u.value += row.countedValue();
            return this;
        }

        /** One user of an arm: whether all their decisions were holdouts, whether any converted, the sum of their values. */
        public Builder addUser(ArmKey key, boolean holdout, boolean converted, double value) {
            arms.computeIfAbsent(key, k -> new Totals()).add(holdout, converted, value);
            return this;
        }

        /** The report of everything added so far; the builder can go on collecting. */
        public ExperimentReport build() {
            users.forEach((k, byUser) -> {
                Totals t = arms.computeIfAbsent(k, x -> new Totals());
                byUser.values().forEach(u -> t.add(u.holdout, u.converted, u.value));
            });
            users.clear();
            return new ExperimentReport(groups(arms));
        }
    }

    private static final class UserTotals {
        boolean holdout = true;
        boolean converted;
        double value;
    }

    private static final class Totals {
        boolean holdout = true;
        long converted;
        double valueSum;
        final SampleSummary.Accumulator values = new SampleSummary.Accumulator();

        void add(boolean userHoldout, boolean userConverted, double value) {
            holdout &= userHoldout;
            if (userConverted) converted++;
            valueSum += value;
            values.add(value);
        }
    }

    private static final Comparator<String> NULLS_FIRST = Comparator.nullsFirst(Comparator.naturalOrder());
    private static final Comparator<GroupKey> GROUP_ORDER = Comparator.comparing(GroupKey::patternId)
            .thenComparingInt(GroupKey::patternVersion).thenComparing(GroupKey::experimentId, NULLS_FIRST);

    private static List<Group> groups(Map<ArmKey, Totals> all) {
        Map<GroupKey, Map<String, ArmKey>> byGroup = new TreeMap<>(GROUP_ORDER);
        all.keySet().forEach(k -> byGroup.computeIfAbsent(k.group(), g -> new TreeMap<>()).put(k.arm(), k));
        Map<GroupKey, ArmKey> controls = new HashMap<>();
        byGroup.forEach((g, armsByName) -> controls.put(g, control(g, armsByName, all, byGroup)));
        List<Group> out = new ArrayList<>();
        byGroup.forEach((g, armsByName) -> {
            ArmKey control = controls.get(g);
            boolean onlyBorrowedControl = armsByName.size() == 1 && armsByName.containsKey(GLOBAL_HOLDOUT)
                    && controls.entrySet().stream().anyMatch(e -> !e.getKey().equals(g) && armsByName.get(GLOBAL_HOLDOUT).equals(e.getValue()));
            if (onlyBorrowedControl) return; // shown as the control of the experiments that borrow it
            List<Arm> arms = new ArrayList<>();
            // the control first, also when borrowed from the pattern's arms without experiment
            if (control != null) arms.add(arm(control, all, null));
            for (ArmKey k : armsByName.values()) {
                if (!k.equals(control)) arms.add(arm(k, all, control));
            }
            out.add(new Group(g, control, arms));
        });
        return out;
    }

    private static ArmKey control(GroupKey g, Map<String, ArmKey> armsByName, Map<ArmKey, Totals> all, Map<GroupKey, Map<String, ArmKey>> byGroup) {
        for (ArmKey k : armsByName.values()) {
            if (!k.arm().equals(GLOBAL_HOLDOUT) && all.get(k).holdout) return k;
        }
        if (armsByName.containsKey(GLOBAL_HOLDOUT)) return armsByName.get(GLOBAL_HOLDOUT);
        if (g.experimentId() != null) {
            Map<String, ArmKey> plain = byGroup.get(new GroupKey(g.patternId(), g.patternVersion(), null));
            if (plain != null && plain.containsKey(GLOBAL_HOLDOUT)) return plain.get(GLOBAL_HOLDOUT);
        }
        return null;
    }

    private static Arm arm(ArmKey key, Map<ArmKey, Totals> all, ArmKey control) {
        Totals t = all.get(key);
        SampleSummary values = t.values.summary();
        long exposed = values.n();
        List<String> warnings = new ArrayList<>();
        if (exposed < MIN_EXPOSED) warnings.add("only " + exposed + " exposed user(s), fewer than " + MIN_EXPOSED);
        ProportionComparison conversion = null;
        MeanComparison value = null;
        if (control == null) {
            if (!t.holdout) warnings.add("no holdout arm to compare with");
        } else {
            Totals c = all.get(control);
            SampleSummary controlValues = c.values.summary();
            conversion = ProportionComparison.of(controlValues.n(), c.converted, exposed, t.converted);
            value = MeanComparison.of(controlValues, values);
            double pooled = (double) (c.converted + t.converted) / (controlValues.n() + exposed);
            double fewest = Math.min(Math.min(controlValues.n(), exposed) * pooled, Math.min(controlValues.n(), exposed) * (1 - pooled));
            if (fewest < MIN_EXPECTED_CONVERSIONS) {
                warnings.add(String.format(Locale.ROOT, "only %.1f expected conversions or non-conversions in an arm at the pooled rate, fewer than %d",
                        fewest, MIN_EXPECTED_CONVERSIONS));
            }
            if (controlValues.n() < MIN_EXPOSED) warnings.add("the control '" + control.arm() + "' has only " + controlValues.n() + " exposed user(s)");
        }
        return new Arm(key, t.holdout, exposed, t.converted, (double) t.converted / exposed, t.valueSum / exposed, values, control,
                conversion, value, List.copyOf(warnings));
    }

    /** The report as an aligned text table per experiment, warnings below each table. */
    public String text() {
        if (groups.isEmpty()) return "no outcomes\n";
        StringBuilder sb = new StringBuilder();
        for (Group g : groups) {
            sb.append("pattern ").append(g.key().patternId()).append(" v").append(g.key().patternVersion());
            sb.append(g.key().experimentId() == null ? ", no experiment" : ", experiment " + g.key().experimentId());
            if (g.control() == null) {
                sb.append(": no holdout arm, nothing compared\n");
            } else {
                sb.append(": arms against '").append(g.control().arm()).append('\'');
                if (!g.control().group().equals(g.key())) sb.append(" (the pattern's global holdout, no experiment)");
                sb.append('\n');
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"arm", "exposed", "converted", "rate", "lift pp (95% CI)", "rel. lift (95% CI)", "p", "value/user",
                "value diff (95% CI)", "p"});
            for (Arm a : g.arms()) {
                ProportionComparison c = a.conversion();
                MeanComparison v = a.value();
                rows.add(new String[] {
                    a.key().arm() + (a.key().equals(g.control()) ? " (control)" : ""),
                    String.format(Locale.ROOT, "%,d", a.exposed()),
                    String.format(Locale.ROOT, "%,d", a.converted()),
                    String.format(Locale.ROOT, "%.2f%%", 100 * a.rate()),
                    c == null ? "-" : points(c.absoluteLift()) + " [" + points(c.absoluteLiftLow()) + ", " + points(c.absoluteLiftHigh()) + "]",
                    c == null ? "-" : percent(c.relativeLift()) + " [" + percent(c.relativeLiftLow()) + ", " + percent(c.relativeLiftHigh()) + "]",
                    c == null ? "-" : pValue(c.pValue()),
                    String.format(Locale.ROOT, "%.2f", a.valuePerUser()),
                    v == null ? "-" : signed(v.difference()) + " [" + signed(v.low()) + ", " + signed(v.high()) + "]",
                    v == null ? "-" : pValue(v.pValue())});
            }
            int[] width = new int[rows.get(0).length];
            for (String[] r : rows) {
                for (int i = 0; i < r.length; i++) width[i] = Math.max(width[i], r[i].length());
            }
            for (String[] r : rows) {
                StringBuilder line = new StringBuilder("  ");
                for (int i = 0; i < r.length; i++) {
                    boolean left = i == 0;
                    line.append(left ? pad(r[i], width[i], true) : pad(r[i], width[i], false)).append(i + 1 < r.length ? "  " : "");
                }
                sb.append(line.toString().stripTrailing()).append('\n');
            }
            for (Arm a : g.arms()) {
                for (String w : a.warnings()) sb.append("  ! ").append(a.key().arm()).append(": ").append(w).append('\n');
            }
            sb.append('\n');
        }
        sb.append("lift: treated rate minus control rate in percentage points (pp); rel. lift: treated/control - 1; value: per exposed user.\n");
        sb.append("95% intervals and two-sided p-values: z-test for rates, Welch's t-test for value (docs/experiments.md).\n");
        return sb.toString();
    }

    /** The report as a JSON document; figures that are not defined (e.g. a relative lift over a 0 rate) are null. */
    public String json() {
        try {
            return JSON.writeValueAsString(toJson()) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("confidence", Distributions.CONFIDENCE);
        ArrayNode gs = root.putArray("groups");
        for (Group g : groups) {
            ObjectNode gn = gs.addObject();
            gn.put("pattern_id", g.key().patternId());
            gn.put("pattern_version", g.key().patternVersion());
            gn.put("experiment_id", g.key().experimentId());
            if (g.control() == null) {
                gn.putNull("control");
            } else {
                ObjectNode cn = gn.putObject("control");
                cn.put("experiment_id", g.control().experimentId());
                cn.put("arm", g.control().arm());
            }
            ArrayNode arms = gn.putArray("arms");
            for (Arm a : g.arms()) {
                ObjectNode an = arms.addObject();
                an.put("arm", a.key().arm());
                an.put("holdout", a.holdout());
                an.put("exposed", a.exposed());
                an.put("converted", a.converted());
                number(an, "rate", a.rate());
                number(an, "value_per_user", a.valuePerUser());
                ProportionComparison c = a.conversion();
                if (c == null) {
                    an.putNull("conversion");
                } else {
                    ObjectNode cn = an.putObject("conversion");
                    number(cn, "absolute_lift", c.absoluteLift());
                    interval(cn, "absolute_lift_ci", c.absoluteLiftLow(), c.absoluteLiftHigh());
                    number(cn, "relative_lift", c.relativeLift());
                    interval(cn, "relative_lift_ci", c.relativeLiftLow(), c.relativeLiftHigh());
                    number(cn, "z", c.z());
                    number(cn, "p_value", c.pValue());
                }
                MeanComparison v = a.value();
                if (v == null) {
                    an.putNull("value");
                } else {
                    ObjectNode vn = an.putObject("value");
                    number(vn, "difference", v.difference());
                    interval(vn, "difference_ci", v.low(), v.high());
                    number(vn, "t", v.t());
                    number(vn, "df", v.df());
                    number(vn, "p_value", v.pValue());
                }
                ArrayNode w = an.putArray("warnings");
                a.warnings().forEach(w::add);
            }
        }
        return root;
    }

    private static void number(ObjectNode n, String field, double v) {
        if (Double.isFinite(v)) n.put(field, v);
        else n.putNull(field);
    }

    private static void interval(ObjectNode n, String field, double low, double high) {
        if (Double.isFinite(low) && Double.isFinite(high)) {
            n.putArray(field).add(low).add(high);
        } else {
            n.putNull(field);
        }
    }

    private static String pad(String s, int width, boolean left) {
        String spaces = " ".repeat(width - s.length());
        return left ? s + spaces : spaces + s;
    }

    private static String points(double rateDifference) {
        return Double.isFinite(rateDifference) ? String.format(Locale.ROOT, "%+.2f", 100 * rateDifference) : "n/a";
    }

    private static String percent(double ratio) {
        return Double.isFinite(ratio) ? String.format(Locale.ROOT, "%+.1f%%", 100 * ratio) : "n/a";
    }

    private static String signed(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%+.2f", v) : "n/a";
    }

    private static String pValue(double p) {
        if (!Double.isFinite(p)) return "n/a";
        return p < 0.0001 ? "<0.0001" : String.format(Locale.ROOT, "%.4f", p);
    }

    /** For tests and tools: the arms of the report keyed by arm name, for a report of one group. */
    static Map<String, Arm> armsByName(Group g) {
        Map<String, Arm> m = new LinkedHashMap<>();
        g.arms().forEach(a -> m.put(a.key().arm(), a));
        return m;
    }
}
