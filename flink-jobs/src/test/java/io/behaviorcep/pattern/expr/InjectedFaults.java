package io.behaviorcep.pattern.expr;

import io.behaviorcep.pattern.EventMatcher;
import io.behaviorcep.pattern.PatternDefinition;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

/**
 * Conditions that fail at run time, for the tests of the safety net around them ({@code Expr.test}
 * takes a failing condition as false, {@code conditionErrors} counts it). The language itself has
 * none any more: no arithmetic, missing fields are defined, and regexes run on RE2/J, which neither
 * recurses per character (java.util.regex overflowed its stack on long values) nor backtracks.
 */
public final class InjectedFaults {
    private InjectedFaults() {
    }

    /** {@code def} with every condition throwing on the events for which {@code poison} holds; as written on the others. */
    public static PatternDefinition failingWhen(PatternDefinition def, String poison) {
        Expr p = ConditionParser.parse(poison);
        try {
            Field matcher = PatternDefinition.StepDefinition.class.getDeclaredField("matcher");
            matcher.setAccessible(true);
            for (PatternDefinition.StepDefinition s : def.steps) {
                List<Expr> where = new ArrayList<>();
                for (Expr x : s.matcher.where) where.add(new Failing(x, p));
                matcher.set(s, new EventMatcher(s.matcher.event, s.matcher.type, where));
            }
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
        return def;
    }

    static final class Failing extends Expr {
        private static final long serialVersionUID = 1L;
        private final Expr wrapped;
        private final Expr poison;

        Failing(Expr wrapped, Expr poison) {
            this.wrapped = wrapped;
            this.poison = poison;
        }

        @Override
        boolean eval(EvalContext ctx) {
            if (poison.eval(ctx)) throw new IllegalStateException("injected failure");
            return wrapped.eval(ctx);
        }

        @Override
        void collect(List<FieldRef> out) {
            wrapped.collect(out);
        }

        @Override
        void render(StringBuilder sb) {
            wrapped.render(sb);
        }

        @Override
        int precedence() {
            return wrapped.precedence();
        }
    }
}
