package io.behaviorcep.pattern.expr;

import com.google.re2j.Pattern;
import io.behaviorcep.pattern.expr.Operand.BoolLit;
import io.behaviorcep.pattern.expr.Operand.Field;
import io.behaviorcep.pattern.expr.Operand.NumberLit;
import io.behaviorcep.pattern.expr.Operand.StringLit;

import java.util.Collections;
import java.util.HashSet;
import java.util.List;

/** The AST node types. */
final class Nodes {
    private Nodes() {}

    static final class Or extends Expr {
        private static final long serialVersionUID = 1L;
        final Expr[] terms;

        Or(Expr[] terms) {
            this.terms = terms;
        }

        @Override
        boolean eval(EvalContext ctx) {
            for (Expr t : terms) {
                if (t.eval(ctx)) return true;
            }
            return false;
        }

        @Override
        void collect(List<FieldRef> out) {
            for (Expr t : terms) t.collect(out);
        }

        @Override
        void render(StringBuilder sb) {
            for (int i = 0; i < terms.length; i++) {
                if (i > 0) sb.append(" or ");
                terms[i].render(sb);
            }
        }

        @Override double reach(String name) { return reachOf(terms, name); }

        @Override int precedence() { return OR; }
    }

    static final class And extends Expr {
        private static final long serialVersionUID = 1L;
        final Expr[] terms;

        And(Expr[] terms) {
            this.terms = terms;
        }

        @Override
        boolean eval(EvalContext ctx) {
            for (Expr t : terms) {
                if (!t.eval(ctx)) return false;
            }
            return true;
        }

        @Override
        void collect(List<FieldRef> out) {
            for (Expr t : terms) t.collect(out);
        }

        @Override
        void render(StringBuilder sb) {
            for (int i = 0; i < terms.length; i++) {
                if (i > 0) sb.append(" and ");
                boolean paren = terms[i].precedence() < AND;
                if (paren) sb.append('(');
                terms[i].render(sb);
                if (paren) sb.append(')');
            }
        }

        @Override double reach(String name) { return reachOf(terms, name); }

        @Override int precedence() { return AND; }
    }

    static final class Not extends Expr {
        private static final long serialVersionUID = 1L;
        final Expr inner;

        Not(Expr inner) {
            this.inner = inner;
        }

        @Override
        boolean eval(EvalContext ctx) {
            return !inner.eval(ctx);
        }

        @Override
        void collect(List<FieldRef> out) {
            inner.collect(out);
        }

        @Override double reach(String name) { return inner.reach(name); }

        @Override
        void render(StringBuilder sb) {
            sb.append("not ");
            if (inner instanceof Not) {
                inner.render(sb);
            } else {
                sb.append('(');
                inner.render(sb);
                sb.append(')');
            }
        }

        @Override int precedence() { return UNARY; }
    }

    /**
     * {@code a OP b}. How the sides compare is decided once, from the operand kinds. With a
     * wildcard field on a side, true if some value of it (some pair of values, with two) satisfies
     * the comparison; false if a wildcard side has no values.
     */
    static final class Compare extends Expr {
        private static final long serialVersionUID = 1L;

        enum Mode {
            /** A number literal or aggregate on a side: both sides as numbers. */
            NUMERIC,
            /** true/false on a side: case-insensitive text equality. */
            BOOLEAN,
            /** Two fields: as numbers if both are numeric, else as text. */
            FIELDS,
            /** A string literal on a side: as text. */
            TEXT
        }

        final Operand left;
        final Op op;
        final Operand right;
        final Mode mode;
        /** A wildcard field on either side: {@link #any}. */
        final boolean wildcard;

        Compare(Operand left, Op op, Operand right) {
            this.left = left;
            this.op = op;
            this.right = right;
            this.wildcard = left.wildcard() || right.wildcard();
            if (left.numeric() || right.numeric()) mode = Mode.NUMERIC;
            else if (left instanceof BoolLit || right instanceof BoolLit) mode = Mode.BOOLEAN;
            else if (left instanceof Field && right instanceof Field) mode = Mode.FIELDS;
            else mode = Mode.TEXT;
        }

        @Override
        boolean eval(EvalContext ctx) {
            if (wildcard) return any(ctx);
            if (mode == Mode.NUMERIC) return numeric(ctx);
            return text(left.text(ctx), right.text(ctx));
        }

        /** A non-numeric comparison of two texts (null: missing). */
        private boolean text(String a, String b) {
            if (a == null || b == null) return op == Op.NE;
            switch (mode) {
                case BOOLEAN: {
                    boolean eq = a.equalsIgnoreCase(b);
                    return op == Op.EQ ? eq : !eq;
                }
                case FIELDS: {
                    double x = Num.parse(a);
                    if (x == x) {
                        double y = Num.parse(b);
                        if (y == y) return op.test(x, y);
                    }
                    return op.test(a.compareTo(b));
                }
                default:
                    return op.test(a.compareTo(b));
            }
        }

        /** Existential over the values of the wildcard side(s); a non-wildcard side is read once. */
        private boolean any(EvalContext ctx) {
            List<String> as = left.wildcard() ? left.texts(ctx) : null;
            if (as != null && as.isEmpty()) return false;
            List<String> bs = right.wildcard() ? right.texts(ctx) : null;
            if (bs != null && bs.isEmpty()) return false;
            if (mode == Mode.NUMERIC) {
                // a number literal or aggregate on one side, so the other is the (only) wildcard side
                boolean leftWild = as != null;
                double fixed = leftWild ? right.number(ctx) : left.number(ctx);
                if (fixed != fixed) return op == Op.NE; // missing, as for a plain field
                for (String t : leftWild ? as : bs) {
                    double v = Num.parse(t);
                    if (v == v && (leftWild ? op.test(v, fixed) : op.test(fixed, v))) return true;
                }
                return false;
            }
            if (as == null) as = Collections.singletonList(left.text(ctx));
            if (bs == null) bs = Collections.singletonList(right.text(ctx));
            for (String a : as) {
                for (String b : bs) {
                    if (text(a, b)) return true;
                }
            }
            return false;
        }

        private boolean numeric(EvalContext ctx) {
            boolean missing = false, notNumber = false;
            double a, b;
            if (left.numeric()) {
                a = left.number(ctx);
                missing = a != a;
            } else if ((a = profileNumber(left, ctx)) == a) {
                // a profile field read as a number directly: no text to format and parse back
            } else {
                String t = left.text(ctx);
                if (t == null) {
                    a = Double.NaN;
                    missing = true;
                } else {
                    a = Num.parse(t);
                    notNumber = a != a;
                }
            }
            if (right.numeric()) {
                b = right.number(ctx);
                missing |= b != b;
            } else if ((b = profileNumber(right, ctx)) == b) {
                // as for the left side
            } else {
                String t = right.text(ctx);
                if (t == null) {
                    b = Double.NaN;
                    missing = true;
                } else {
                    b = Num.parse(t);
                    notNumber |= b != b;
                }
            }
            if (missing) return op == Op.NE;
            if (notNumber) return false;
            return op.test(a, b);
        }

        @Override
        void collect(List<FieldRef> out) {
            left.collect(out);
            right.collect(out);
        }

        @Override
        double reach(String name) {
            if (!wildcard && mode == Mode.NUMERIC) {
                if (isProfileField(left, name) && right instanceof Operand.NumberLit n) return Math.abs(n.value);
                if (isProfileField(right, name) && left instanceof Operand.NumberLit n) return Math.abs(n.value);
            }
            return super.reach(name);
        }

        /** A profile field's value as the context gives it as a number; NaN if not so (then it is read as text). */
        private static double profileNumber(Operand o, EvalContext ctx) {
            return o instanceof Operand.Field f && f.kind == FieldRef.Kind.PROFILE ? ctx.profileNumber(f.profileName) : Double.NaN;
        }

        private static boolean isProfileField(Operand o, String name) {
            return o instanceof Operand.Field f && f.kind == FieldRef.Kind.PROFILE && name.equals(f.profileName);
        }

        @Override
        void render(StringBuilder sb) {
            left.render(sb);
            sb.append(' ').append(op.symbol).append(' ');
            right.render(sb);
        }

        @Override int precedence() { return UNARY; }
    }

    /**
     * {@code a [not] in [literals]}: == against each literal; missing a: in is false, not in is true.
     * A wildcard a: true if some value is (not) in the list; false with no values.
     */
    static final class In extends Expr {
        private static final long serialVersionUID = 1L;
        final Operand left;
        final Operand[] items;
        final boolean negated;
        private final HashSet<String> strings = new HashSet<>();
        private final double[] numbers;
        private final boolean hasTrue, hasFalse;

        In(Operand left, Operand[] items, boolean negated) {
            this.left = left;
            this.items = items;
            this.negated = negated;
            int n = 0;
            boolean t = false, f = false;
            for (Operand o : items) if (o instanceof NumberLit) n++;
            numbers = new double[n];
            n = 0;
            for (Operand o : items) {
                if (o instanceof NumberLit num) numbers[n++] = num.value;
                else if (o instanceof StringLit s) strings.add(s.value);
                else if (o instanceof BoolLit b) {
                    if (b.value) t = true;
                    else f = true;
                }
            }
            hasTrue = t;
            hasFalse = f;
        }

        @Override
        boolean eval(EvalContext ctx) {
            boolean found;
            if (left.numeric()) {
                double v = left.number(ctx);
                if (v != v) return negated;
                found = containsNumber(v);
            } else if (left.wildcard()) {
                for (String t : left.texts(ctx)) {
                    if (contains(t) != negated) return true;
                }
                return false;
            } else {
                String t = left.text(ctx);
                if (t == null) return negated;
                found = contains(t);
            }
            return found != negated;
        }

        private boolean contains(String t) {
            return strings.contains(t)
                    || (numbers.length > 0 && containsNumber(Num.parse(t)))
                    || (hasTrue && t.equalsIgnoreCase("true"))
                    || (hasFalse && t.equalsIgnoreCase("false"));
        }

        private boolean containsNumber(double v) {
            for (double d : numbers) {
                if (d == v) return true;
            }
            return false;
        }

        @Override
        void collect(List<FieldRef> out) {
            left.collect(out);
        }

        @Override
        void render(StringBuilder sb) {
            left.render(sb);
            sb.append(negated ? " not in [" : " in [");
            for (int i = 0; i < items.length; i++) {
                if (i > 0) sb.append(", ");
                items[i].render(sb);
            }
            sb.append(']');
        }

        @Override int precedence() { return UNARY; }
    }

    /** {@code field exists}: the field is present (JSON nulls are absent); a wildcard field: it has a value. */
    static final class Exists extends Expr {
        private static final long serialVersionUID = 1L;
        final Field field;

        Exists(Field field) {
            this.field = field;
        }

        @Override
        boolean eval(EvalContext ctx) {
            if (field.wildcard()) return !field.texts(ctx).isEmpty();
            return field.text(ctx) != null;
        }

        @Override
        void collect(List<FieldRef> out) {
            field.collect(out);
        }

        @Override
        void render(StringBuilder sb) {
            field.render(sb);
            sb.append(" exists");
        }

        @Override int precedence() { return UNARY; }
    }

    /**
     * {@code field matches 'regex'}: the WHOLE value must match; a wildcard field: some value. The
     * pattern is RE2/J's ({@link Regex}), compiled once when parsing: linear time on any value.
     */
    static final class Matches extends Expr {
        private static final long serialVersionUID = 1L;
        final Field field;
        final Pattern pattern;

        Matches(Field field, Pattern pattern) {
            this.field = field;
            this.pattern = pattern;
        }

        @Override
        boolean eval(EvalContext ctx) {
            if (field.wildcard()) {
                for (String t : field.texts(ctx)) {
                    if (pattern.matcher(t).matches()) return true;
                }
                return false;
            }
            String t = field.text(ctx);
            return t != null && pattern.matcher(t).matches();
        }

        @Override
        void collect(List<FieldRef> out) {
            field.collect(out);
        }

        @Override
        void render(StringBuilder sb) {
            field.render(sb);
            sb.append(" matches ");
            StringLit.quote(pattern.pattern(), sb);
        }

        @Override int precedence() { return UNARY; }
    }
}
