package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;

import java.io.Serializable;
import java.util.Collections;
import java.util.List;

/** One side of a predicate: a literal, a field path or an aggregate. */
abstract class Operand implements Serializable {
    private static final long serialVersionUID = 1L;

    /** 1-based column in the source. */
    final int column;

    Operand(int column) {
        this.column = column;
    }

    /** True for operands that are numbers by construction (number literals, aggregates): comparisons with them are numeric. */
    boolean numeric() {
        return false;
    }

    /**
     * True for wildcard fields ({@code properties.products.*.price}): they have any number of
     * values, read with {@link #texts}; predicates over them are existential.
     */
    boolean wildcard() {
        return false;
    }

    /** The operand's text; null if missing. Not for {@link #wildcard()} operands. */
    abstract String text(EvalContext ctx);

    /** For {@link #wildcard()} operands: every value, empty if none. */
    List<String> texts(EvalContext ctx) {
        String t = text(ctx);
        return t == null ? List.of() : List.of(t);
    }

    /** For {@link #numeric()} operands: the value, NaN if missing (an aggregate over no numbers). */
    double number(EvalContext ctx) {
        return Double.NaN;
    }

    abstract void render(StringBuilder sb);

    void collect(List<FieldRef> out) {}

    /** A short description for error messages. */
    abstract String describe();

    // ---------------------------------------------------------------- literals

    static final class NumberLit extends Operand {
        private static final long serialVersionUID = 1L;
        final double value;

        NumberLit(double value, int column) {
            super(column);
            this.value = value;
        }

        @Override boolean numeric() { return true; }
        @Override String text(EvalContext ctx) { return Num.format(value); }
        @Override double number(EvalContext ctx) { return value; }
        @Override void render(StringBuilder sb) { sb.append(Num.format(value)); }
        @Override String describe() { return "the number " + Num.format(value); }
    }

    static final class StringLit extends Operand {
        private static final long serialVersionUID = 1L;
        final String value;

        StringLit(String value, int column) {
            super(column);
            this.value = value;
        }

        @Override String text(EvalContext ctx) { return value; }
        @Override void render(StringBuilder sb) { quote(value, sb); }
        @Override String describe() { return "the string " + quote(value, new StringBuilder()); }

        static StringBuilder quote(String s, StringBuilder sb) {
            sb.append('\'');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '\\': sb.append("\\\\"); break;
                    case '\'': sb.append("\\'"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\t': sb.append("\\t"); break;
                    case '\r': sb.append("\\r"); break;
                    default: sb.append(c);
                }
            }
            return sb.append('\'');
        }
    }

    static final class BoolLit extends Operand {
        private static final long serialVersionUID = 1L;
        final boolean value;

        BoolLit(boolean value, int column) {
            super(column);
            this.value = value;
        }

        @Override String text(EvalContext ctx) { return value ? "true" : "false"; }
        @Override void render(StringBuilder sb) { sb.append(value); }
        @Override String describe() { return String.valueOf(value); }
    }

    // ---------------------------------------------------------------- fields

    /**
     * A field of the current event, of the last event of an earlier step, or of the profile. A
     * wildcard field (current event or step only) has the values of all the matching keys of that
     * one event.
     */
    static final class Field extends Operand {
        private static final long serialVersionUID = 1L;
        final FieldRef.Kind kind;
        /** STEP only. */
        final String step;
        /** CURRENT and STEP. */
        final EventField field;
        /** PROFILE only: the name without "profile.". */
        final String profileName;
        final String path;

        Field(FieldRef.Kind kind, String step, EventField field, String profileName, String path, int column) {
            super(column);
            this.kind = kind;
            this.step = step;
            this.field = field;
            this.profileName = profileName;
            this.path = path;
        }

        @Override
        boolean wildcard() {
            return field != null && field.wildcard();
        }

        @Override
        List<String> texts(EvalContext ctx) {
            if (!wildcard()) return super.texts(ctx);
            if (kind == FieldRef.Kind.CURRENT) return field.values(ctx.current());
            List<BehaviorEvent> events = ctx.step(step);
            if (events == null || events.isEmpty()) return List.of();
            return field.values(events.get(events.size() - 1));
        }

        @Override
        String text(EvalContext ctx) {
            switch (kind) {
                case CURRENT:
                    return field.get(ctx.current());
                case STEP: {
                    List<BehaviorEvent> events = ctx.step(step);
                    if (events == null || events.isEmpty()) return null;
                    return field.get(events.get(events.size() - 1));
                }
                default:
                    return ctx.profileField(profileName);
            }
        }

        @Override void render(StringBuilder sb) { sb.append(path); }
        @Override String describe() { return "'" + path + "'"; }

        @Override
        void collect(List<FieldRef> out) {
            out.add(new FieldRef(path, column, kind, step, kind == FieldRef.Kind.PROFILE ? profileName : field.path, null));
        }
    }

    // ---------------------------------------------------------------- aggregates

    enum Fn {
        SUM, COUNT, MIN, MAX, AVG;

        final String label = name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * sum/count/min/max/avg of a field over every event bound to an earlier step; with a wildcard
     * field, over every matching value of those events, or of the current event ({@link #step} null).
     */
    static final class Aggregate extends Operand {
        private static final long serialVersionUID = 1L;
        final Fn fn;
        /** Null for an aggregate over a wildcard field of the current event. */
        final String step;
        /** Null for {@code count(step)}. */
        final EventField field;
        final String path;

        Aggregate(Fn fn, String step, EventField field, String path, int column) {
            super(column);
            this.fn = fn;
            this.step = step;
            this.field = field;
            this.path = path;
        }

        @Override boolean numeric() { return true; }

        @Override
        String text(EvalContext ctx) {
            double v = number(ctx);
            return v != v ? null : Num.format(v);
        }

        /**
         * count: events (with the field, if one is named), or values of a wildcard field; sum: 0
         * over no numbers; min, max, avg: NaN (missing) over no numbers. Non-numeric values are skipped.
         */
        @Override
        double number(EvalContext ctx) {
            if (field != null && field.prefix != null) return numberWildcard(ctx);
            List<BehaviorEvent> events = ctx.step(step);
            int k = 0;
            double acc = fn == Fn.MIN ? Double.POSITIVE_INFINITY : fn == Fn.MAX ? Double.NEGATIVE_INFINITY : 0;
            if (events == null) return finish(acc, k);
            for (BehaviorEvent e : events) {
                if (e == null) continue;
                if (fn == Fn.COUNT) {
                    if (field == null || field.get(e) != null) k++;
                    continue;
                }
                double v = field.number(e);
                if (v != v) continue;
                k++;
                acc = fold(acc, v);
            }
            return finish(acc, k);
        }

        /** Over every value of the wildcard field in the current event or in every event of the step. */
        private double numberWildcard(EvalContext ctx) {
            Iterable<BehaviorEvent> events = step == null ? Collections.singletonList(ctx.current()) : ctx.step(step);
            int k = 0;
            double acc = fn == Fn.MIN ? Double.POSITIVE_INFINITY : fn == Fn.MAX ? Double.NEGATIVE_INFINITY : 0;
            if (events == null) return finish(acc, k);
            for (BehaviorEvent e : events) {
                for (String s : field.values(e)) {
                    if (fn == Fn.COUNT) {
                        k++;
                        continue;
                    }
                    double v = Num.parse(s);
                    if (v != v) continue;
                    k++;
                    acc = fold(acc, v);
                }
            }
            return finish(acc, k);
        }

        private double fold(double acc, double v) {
            switch (fn) {
                case MIN: return Math.min(acc, v);
                case MAX: return Math.max(acc, v);
                default: return acc + v;
            }
        }

        private double finish(double acc, int k) {
            switch (fn) {
                case COUNT: return k;
                case SUM: return acc;
                case AVG: return k == 0 ? Double.NaN : acc / k;
                default: return k == 0 ? Double.NaN : acc;
            }
        }

        @Override
        void render(StringBuilder sb) {
            sb.append(fn.label).append('(').append(path).append(')');
        }

        @Override String describe() { return fn.label + "(" + path + ")"; }

        @Override
        void collect(List<FieldRef> out) {
            out.add(new FieldRef(path, column, step == null ? FieldRef.Kind.CURRENT : FieldRef.Kind.STEP, step,
                    field == null ? null : field.path, fn.label));
        }
    }
}
