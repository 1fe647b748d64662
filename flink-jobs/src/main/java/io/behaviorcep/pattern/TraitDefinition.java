package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.expr.EvalContext;
import io.behaviorcep.pattern.expr.Expr;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * A computed trait of a traits file ({@code kind: traits}, e.g. {@code patterns/traits.yaml}): a
 * function of one kind of event of the user (or one of its properties), over a sliding window or since
 * the user's last event of another kind. Read as {@code profile.traits.<id>} in conditions, threshold
 * segments and payload templates. Built only by {@code PatternLoader}, so every instance is valid; the
 * computation is {@code io.behaviorcep.trait.TraitSet}.
 */
public final class TraitDefinition implements Serializable {
    private static final long serialVersionUID = 1L;

    /** What a trait computes over the events it takes. */
    public enum Function {
        COUNT, SUM, MIN, MAX, LAST, FIRST, DISTINCT_COUNT;

        public String yamlName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Whether the function reads a property ({@code count} does not). */
        public boolean needsProperty() {
            return this != COUNT;
        }

        /** Whether the property must be a number (non-numbers are skipped). */
        public boolean numeric() {
            return this == SUM || this == MIN || this == MAX;
        }
    }

    public static final long HOUR = 3_600_000L;
    public static final long DAY = 24 * HOUR;
    /** The shortest and longest window. */
    public static final long MIN_WINDOW = HOUR;
    public static final long MAX_WINDOW = 90 * DAY;
    /** Windows up to this long are kept in hourly buckets, longer ones in daily (UTC) buckets. */
    public static final long HOURLY_UP_TO = 2 * DAY;

    public final String id;
    public final String description;
    public final Function function;
    /** The track event name it takes; null: every event of the user ({@code event: "*"}). */
    public final String event;
    /** Conditions over the event, all of which must hold. */
    public final List<Expr> where;
    /** The event field it reads ({@code properties.price}); null for {@code count}. */
    public final String property;
    /** The window's length in ms; 0 for a trait {@link #since}. */
    public final long windowMillis;
    /** The event name whose occurrence starts the trait afresh; null for a windowed trait. */
    public final String since;
    public final String source;
    public final int line;

    public TraitDefinition(String id, String description, Function function, String event, List<Expr> where, String property,
                           long windowMillis, String since, String source, int line) {
        this.id = id;
        this.description = description;
        this.function = function;
        this.event = event;
        this.where = List.copyOf(where);
        this.property = property;
        this.windowMillis = windowMillis;
        this.since = since;
        this.source = source;
        this.line = line;
    }

    public boolean windowed() {
        return since == null;
    }

    /** The bucket width of a windowed trait: an hour up to {@link #HOURLY_UP_TO}, else a day. */
    public long bucketMillis() {
        return windowMillis <= HOURLY_UP_TO ? HOUR : DAY;
    }

    /** Buckets in the window (window / bucket width). */
    public int buckets() {
        return windowed() ? (int) (windowMillis / bucketMillis()) : 0;
    }

    /** Whether {@code e} is one of the events the trait takes. */
    public boolean takes(BehaviorEvent e) {
        if (event != null && !("track".equals(e.type) && event.equals(e.event))) return false;
        if (where.isEmpty()) return true;
        EvalContext ctx = EvalContext.of(e);
        for (Expr x : where) {
            if (!x.test(ctx)) return false;
        }
        return true;
    }

    /** Whether {@code e} starts a {@link #since} trait afresh. */
    public boolean resets(BehaviorEvent e) {
        return since != null && "track".equals(e.type) && since.equals(e.event);
    }

    /**
     * Everything that decides the trait's value, as text: a trait whose spec changes starts from
     * empty in a running job (its old state answered another question).
     */
    public String spec() {
        return function.yamlName() + "(" + (event == null ? "*" : event) + (property == null ? "" : "." + property) + ")"
                + (where.isEmpty() ? "" : " where " + where) + (since != null ? " since last " + since : " over " + windowMillis + "ms");
    }

    @Override
    public String toString() {
        return "Trait{" + id + " = " + spec() + "}";
    }
}
