package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.expr.EvalContext;
import io.behaviorcep.pattern.expr.Expr;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * Which events a step (or a segment exit) accepts: an event name and/or a Segment type, plus
 * {@code where} conditions that must all hold. The cheap name/type test runs first so most
 * events are rejected without evaluating any expression.
 */
public final class EventMatcher implements Serializable {
    /** Track event name (or page/screen name); null matches any. */
    public final String event;
    /** Segment type (track, page, ...); null matches any. */
    public final String type;
    public final List<Expr> where;

    public EventMatcher(String event, String type, List<Expr> where) {
        this.event = event;
        this.type = type;
        this.where = List.copyOf(where);
    }

    /** Name and type only: safe to use before any step is bound, e.g. to pre-filter the stream. */
    public boolean matchesKind(BehaviorEvent e) {
        return (event == null || event.equals(e.event)) && (type == null || type.equals(e.type));
    }

    public boolean matches(BehaviorEvent e, EvalContext ctx) {
        if (!matchesKind(e)) return false;
        for (Expr x : where) {
            if (!x.test(ctx)) return false;
        }
        return true;
    }

    public boolean needsStepContext() {
        return where.stream().anyMatch(x -> !x.referencedSteps().isEmpty());
    }

    @Override
    public String toString() {
        return (event != null ? "'" + event + "'" : type != null ? type : "any event")
                + (where.isEmpty() ? "" : " where " + where);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EventMatcher m && Objects.equals(event, m.event) && Objects.equals(type, m.type)
                && Objects.equals(where.toString(), m.where.toString());
    }

    @Override
    public int hashCode() {
        return Objects.hash(event, type);
    }
}
