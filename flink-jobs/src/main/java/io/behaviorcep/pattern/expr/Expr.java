package io.behaviorcep.pattern.expr;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A parsed condition (see {@link ConditionParser} for the language). Immutable, thread-safe and
 * {@link Serializable}: Flink ships conditions to the task managers inside the pattern engine operator.
 *
 * <p>{@link #test} never throws: data that does not fit (a missing field, text where a number is
 * expected) makes a comparison false, and an unexpected failure makes the whole condition false and
 * is reported through {@link EvalContext#reportError}.
 */
public abstract class Expr implements Serializable {
    private static final long serialVersionUID = 1L;

    static final int OR = 1, AND = 2, UNARY = 3;

    Expr() {}

    /**
     * Whether the condition holds in {@code ctx}. Never throws: if evaluation fails unexpectedly
     * (for instance the context throws), the result is false and {@link EvalContext#reportError}
     * is told why.
     */
    public final boolean test(EvalContext ctx) {
        try {
            return eval(ctx);
        } catch (RuntimeException | StackOverflowError e) {
            if (ctx != null) {
                try {
                    ctx.reportError("condition '" + this + "' failed: " + e);
                } catch (RuntimeException ignored) {
                    // the error channel itself failed; the condition is still false
                }
            }
            return false;
        }
    }

    /** Names of the earlier steps this condition reads (plain references and aggregates), in order of appearance. */
    public final Set<String> referencedSteps() {
        Set<String> steps = new LinkedHashSet<>();
        for (FieldRef r : fieldRefs()) {
            if (r.kind() == FieldRef.Kind.STEP) steps.add(r.step());
        }
        return Collections.unmodifiableSet(steps);
    }

    /** Whether the condition reads the user's profile ({@code profile.*}). */
    public final boolean usesProfile() {
        for (FieldRef r : fieldRefs()) {
            if (r.kind() == FieldRef.Kind.PROFILE) return true;
        }
        return false;
    }

    /**
     * How far profile field {@code name} must grow before this condition stops changing with it:
     * the largest absolute number it is compared with, when every use of the field is a plain
     * numeric comparison with a number literal ({@code profile.days_since_last_seen >= 30}). For a
     * whole-number field that only grows, such as {@code days_since_last_seen} while the user is
     * quiet, the condition's truth is then the same for every value above it.
     *
     * @return negative infinity if the condition does not read the field; NaN if it reads it in any
     *         other way (then no such bound is known)
     */
    public final double numericReach(String name) {
        return reach(name);
    }

    /** See {@link #numericReach}; this default knows no bound for any use of the field. */
    double reach(String name) {
        for (FieldRef r : fieldRefs()) {
            if (r.kind() == FieldRef.Kind.PROFILE && name.equals(r.field())) return Double.NaN;
        }
        return Double.NEGATIVE_INFINITY;
    }

    /** The largest reach of {@code terms} (NaN if any is NaN). */
    static double reachOf(Expr[] terms, String name) {
        double max = Double.NEGATIVE_INFINITY;
        for (Expr t : terms) {
            double r = t.reach(name);
            if (r != r) return r;
            max = Math.max(max, r);
        }
        return max;
    }

    /** Every field path in the condition, in order of appearance, with its column. */
    public final List<FieldRef> fieldRefs() {
        List<FieldRef> out = new ArrayList<>();
        collect(out);
        return Collections.unmodifiableList(out);
    }

    /** The canonical form: lowercase keywords, single-quoted strings, minimal parentheses. Parses back to an equal condition. */
    @Override
    public final String toString() {
        StringBuilder sb = new StringBuilder();
        render(sb);
        return sb.toString();
    }

    /** Canonical forms are equal. */
    @Override
    public final boolean equals(Object o) {
        return o instanceof Expr && toString().equals(o.toString());
    }

    @Override
    public final int hashCode() {
        return toString().hashCode();
    }

    abstract boolean eval(EvalContext ctx);

    abstract void collect(List<FieldRef> out);

    abstract void render(StringBuilder sb);

    /** {@link #OR}, {@link #AND} or {@link #UNARY}: for parenthesising in {@link #render}. */
    abstract int precedence();
}
