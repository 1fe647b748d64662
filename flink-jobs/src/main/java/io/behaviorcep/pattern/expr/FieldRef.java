package io.behaviorcep.pattern.expr;

import java.io.Serializable;

/**
 * A field path as written in a condition, for validation and documentation.
 *
 * @param path      the path as written: "properties.price", "viewed.properties.id", "profile.orders_lifetime", "added",
 *                  "properties.products.*.price" (see {@link #wildcard()})
 * @param column    1-based column of the path within the condition
 * @param kind      whose field it is; {@link Kind#CURRENT} also for an aggregate over a wildcard
 *                  field of the current event ({@code sum(properties.products.*.price)})
 * @param step      the step name for {@link Kind#STEP}, else null
 * @param field     the path within the event ("properties.price") or profile ("orders_lifetime");
 *                  null for a bare step in {@code count(step)}
 * @param aggregate the aggregate function applied ("sum", "count", ...), or null
 */
public record FieldRef(String path, int column, Kind kind, String step, String field, String aggregate)
        implements Serializable {

    public enum Kind {
        /** A field of the event being tested. */
        CURRENT,
        /** A field of an event bound to an earlier step. */
        STEP,
        /** A field of the user's profile. */
        PROFILE
    }

    /** The path segment that stands for every key (array index) at its position. */
    public static final String WILDCARD = "*";

    /**
     * Whether the path has a {@code *} segment ({@code properties.products.*.price}): it reads every
     * matching key of the event(s), and predicates over it are existential ("some element
     * satisfies it"), see {@link ConditionParser}. At most one per path; never in profile fields.
     */
    public boolean wildcard() {
        return field != null && field.indexOf('*') >= 0;
    }

    /**
     * For a {@link #wildcard()} ref, whether a concrete field path ({@code field}'s form,
     * "properties.products.3.price") is one of the keys it reads; for others, whether it equals
     * {@link #field()}.
     */
    public boolean matchesField(String concrete) {
        if (field == null || concrete == null) return false;
        int star = field.indexOf('*');
        if (star < 0) return field.equals(concrete);
        String prefix = field.substring(0, star), suffix = field.substring(star + 1);
        int end = concrete.length() - suffix.length();
        if (end <= prefix.length() || !concrete.startsWith(prefix) || !concrete.endsWith(suffix)) return false;
        return concrete.indexOf('.', prefix.length()) < 0 || concrete.indexOf('.', prefix.length()) >= end;
    }
}
