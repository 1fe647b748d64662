package io.behaviorcep.pattern.expr;

import java.io.Serializable;

/**
 * A field path as written in a condition, for validation and documentation.
 *
 * @param path      the path as written: "properties.price", "viewed.properties.id", "profile.orders_lifetime", "added"
 * @param column    1-based column of the path within the condition
 * @param kind      whose field it is
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
}
