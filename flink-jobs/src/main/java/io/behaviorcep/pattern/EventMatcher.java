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
 * events are rejected without evaluating any expression. With {@code any_of}, the event must be
 * accepted by one of the {@link #alternatives} (each its own name, type and conditions), and the
 * {@code where} conditions hold on top: one condition that ORs the alternatives, as Flink CEP's
 * {@code Pattern.or} makes of a step's conditions.
 */
public final class EventMatcher implements Serializable {
    /** Track event name (or page/screen name); null matches any. */
    public final String event;
    /** Segment type (track, page, ...); null matches any. */
    public final String type;
    public final List<Expr> where;
    /** {@code any_of}: the event must match one of these (in order); empty for a plain matcher. */
    public final List<EventMatcher> alternatives;

    public EventMatcher(String event, String type, List<Expr> where) {
        this(event, type, where, List.of());
    }

    public EventMatcher(String event, String type, List<Expr> where, List<EventMatcher> alternatives) {
        this.event = event;
        this.type = type;
        this.where = List.copyOf(where);
        this.alternatives = List.copyOf(alternatives);
    }

    /** Name and type only: safe to use before any step is bound, e.g. to pre-filter the stream. */
    public boolean matchesKind(BehaviorEvent e) {
        if (!((event == null || event.equals(e.event)) && (type == null || type.equals(e.type)))) return false;
        if (alternatives.isEmpty()) return true;
        for (EventMatcher a : alternatives) if (a.matchesKind(e)) return true;
        return false;
    }

    public boolean matches(BehaviorEvent e, EvalContext ctx) {
        if (!((event == null || event.equals(e.event)) && (type == null || type.equals(e.type)))) return false;
        if (!alternatives.isEmpty()) {
            boolean any = false;
            for (EventMatcher a : alternatives) {
                if (a.matches(e, ctx)) {
                    any = true;
                    break;
                }
            }
            if (!any) return false;
        }
        for (Expr x : where) {
            if (!x.test(ctx)) return false;
        }
        return true;
    }

    /** Whether anything beyond name and type must be evaluated. */
    public boolean hasConditions() {
        return !where.isEmpty() || alternatives.stream().anyMatch(EventMatcher::hasConditions);
    }

    public boolean needsStepContext() {
        return where.stream().anyMatch(x -> !x.referencedSteps().isEmpty())
                || alternatives.stream().anyMatch(EventMatcher::needsStepContext);
    }

    @Override
    public String toString() {
        String kind = alternatives.isEmpty() ? (event != null ? "'" + event + "'" : type != null ? type : "any event")
                : "any of " + alternatives;
        return kind + (where.isEmpty() ? "" : " where " + where);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EventMatcher m && Objects.equals(event, m.event) && Objects.equals(type, m.type)
                && Objects.equals(where.toString(), m.where.toString()) && alternatives.equals(m.alternatives);
    }

    @Override
    public int hashCode() {
        return Objects.hash(event, type);
    }
}
