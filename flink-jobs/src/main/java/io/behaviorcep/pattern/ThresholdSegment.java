package io.behaviorcep.pattern;

import io.behaviorcep.pattern.expr.EvalContext;
import io.behaviorcep.pattern.expr.Expr;
import io.behaviorcep.pattern.expr.FieldRef;
import io.behaviorcep.event.ProfileSnapshot;

import java.io.Serializable;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A segment defined by a condition over the user's profile ({@code patterns/segments.yaml}): the
 * user is a member exactly while every {@code when} condition holds. Entering and leaving are
 * decided in the profile operator, after each event and when time alone changes the profile
 * (windows moving on, days since the last event). Built only by {@code PatternLoader}, so every
 * instance is valid: its conditions read {@code profile.*} fields only.
 */
public final class ThresholdSegment implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The segment's name on {@code behavior.segments} and in PostgreSQL, and the {@code reason} of its updates. */
    public final String id;
    public final String description;
    public final boolean enabled;
    /** All must hold. */
    public final List<Expr> when;
    public final String source;
    public final int line;

    public ThresholdSegment(String id, String description, boolean enabled, List<Expr> when, String source, int line) {
        this.id = id;
        this.description = description;
        this.enabled = enabled;
        this.when = List.copyOf(when);
        this.source = source;
        this.line = line;
    }

    /** Whether the profile satisfies every condition. */
    public boolean test(ProfileSnapshot profile) {
        EvalContext ctx = EvalContext.ofProfile(profile);
        for (Expr e : when) {
            if (!e.test(ctx)) return false;
        }
        return true;
    }

    /** How the profile fields this segment reads change with time alone. */
    public Set<ProfileSnapshot.TimeDependence> timeDependences() {
        Set<ProfileSnapshot.TimeDependence> out = EnumSet.noneOf(ProfileSnapshot.TimeDependence.class);
        for (Expr e : when) {
            for (FieldRef r : e.fieldRefs()) {
                if (r.kind() == FieldRef.Kind.PROFILE) {
                    ProfileSnapshot.TimeDependence t = ProfileSnapshot.timeDependence(r.field());
                    if (t != null && t != ProfileSnapshot.TimeDependence.NONE) out.add(t);
                }
            }
        }
        return out;
    }

    /**
     * How far profile field {@code name} must grow before this segment's conditions stop changing
     * with it ({@link Expr#numericReach}): negative infinity if they do not read it, NaN if no such
     * bound is known.
     */
    public double numericReach(String name) {
        double max = Double.NEGATIVE_INFINITY;
        for (Expr e : when) {
            double r = e.numericReach(name);
            if (r != r) return r;
            max = Math.max(max, r);
        }
        return max;
    }

    /** The names of the profile fields this segment's conditions read ({@code sessions_7d} for {@code profile.sessions_7d}). */
    public Set<String> profileFields() {
        Set<String> out = new java.util.TreeSet<>();
        for (Expr e : when) {
            for (FieldRef r : e.fieldRefs()) if (r.kind() == FieldRef.Kind.PROFILE) out.add(r.field());
        }
        return out;
    }

    /** Ids of the computed traits the conditions read ({@code profile.traits.<id>}). */
    public Set<String> traitsRead() {
        Set<String> out = new java.util.TreeSet<>();
        for (Expr e : when) {
            for (FieldRef r : e.fieldRefs()) {
                if (r.kind() == FieldRef.Kind.PROFILE && r.field().startsWith(ProfileSnapshot.TRAITS_PREFIX)) {
                    out.add(r.field().substring(ProfileSnapshot.TRAITS_PREFIX.length()));
                }
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "ThresholdSegment{" + id + " when " + when + "}";
    }
}
