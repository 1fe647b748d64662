package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;

import java.util.List;

/**
 * What a condition is evaluated against: the event being tested, the events already bound to
 * earlier steps of the partial match, and the user's profile.
 *
 * <p>Implementations should be cheap: {@link Expr#test} calls these per event. They may throw; the
 * condition then evaluates to false and {@link #reportError} is called.
 */
public interface EvalContext {

    /** The event being tested; the subject of paths like {@code properties.price}. */
    BehaviorEvent current();

    /**
     * Events bound so far to the step {@code name}, oldest first; empty (or null) if none. A plain
     * step reference ({@code viewed.properties.x}) reads the last one; aggregates read all of them.
     */
    List<BehaviorEvent> step(String name);

    /** A profile field by name without the {@code profile.} prefix ("orders_lifetime"); null if unknown. */
    String profileField(String name);

    /**
     * A profile field as a number, for numeric comparisons, without going through its text; NaN
     * when the context has no such shortcut for it (then {@link #profileField} is read and parsed,
     * as for any field). Must agree with parsing {@link #profileField}'s text.
     */
    default double profileNumber(String name) {
        return Double.NaN;
    }

    /**
     * Called when an evaluation failed at run time (an exception from this context, a regex that
     * blew the stack, ...). The condition then counts as false. Default: ignore. Data problems
     * (missing fields, text where a number is expected) are not errors, just false comparisons.
     */
    default void reportError(String message) {}

    /** Just a profile, as threshold segments read it: no event, no earlier steps, errors ignored. */
    static EvalContext ofProfile(io.behaviorcep.event.ProfileSnapshot profile) {
        return new EvalContext() {
            @Override
            public BehaviorEvent current() {
                return null;
            }

            @Override
            public List<BehaviorEvent> step(String name) {
                return List.of();
            }

            @Override
            public String profileField(String name) {
                return profile.field(name);
            }

            @Override
            public double profileNumber(String name) {
                return profile.number(name);
            }
        };
    }

    /** Just the event and the profile it carries: no earlier steps (step references are missing), errors ignored. */
    static EvalContext of(BehaviorEvent current) {
        return new EvalContext() {
            @Override
            public BehaviorEvent current() {
                return current;
            }

            @Override
            public List<BehaviorEvent> step(String name) {
                return List.of();
            }

            @Override
            public String profileField(String name) {
                return current.profile == null ? null : current.profile.field(name);
            }

            @Override
            public double profileNumber(String name) {
                return current.profile == null ? Double.NaN : current.profile.number(name);
            }
        };
    }
}
