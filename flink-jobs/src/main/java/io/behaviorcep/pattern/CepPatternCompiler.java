package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternDefinition.StepDefinition;
import io.behaviorcep.pattern.expr.EvalContext;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.cep.nfa.aftermatch.AfterMatchSkipStrategy;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.cep.pattern.WithinType;
import org.apache.flink.cep.pattern.conditions.IterativeCondition;
import org.apache.flink.cep.pattern.conditions.RichIterativeCondition;
import org.apache.flink.metrics.Counter;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles a {@link PatternDefinition} to a Flink CEP {@link Pattern}.
 *
 * <p>Windows: a step's {@code within} and an absence's {@code for} are measured from the previous
 * step's event ({@link WithinType#PREVIOUS_AND_CURRENT}), as operators read them, not from the
 * first event. Both are inclusive: Flink CEP times a partial match out when
 * {@code now - previous >= window}, so one millisecond is added to make an event at exactly the
 * window's end still count (an order at exactly t + 15m cancels the abandonment).
 */
public final class CepPatternCompiler {
    /** Added to every window so that its end is inclusive; see the class comment. */
    public static final Duration INCLUSIVE = Duration.ofMillis(1);

    private CepPatternCompiler() {}

    public static Pattern<BehaviorEvent, BehaviorEvent> compile(PatternDefinition def) {
        // a leading absence is not Flink CEP's: the engine decides it before the first positive step
        List<StepDefinition> steps = def.leadingAbsence() == null ? def.steps : def.steps.subList(1, def.steps.size());
        StepDefinition first = steps.get(0);
        Pattern<BehaviorEvent, BehaviorEvent> p = first.isGroup()
                ? quantify(Pattern.begin(group(def, first), skipStrategy(def)), def, first)
                : quantify(Pattern.<BehaviorEvent>begin(first.name, skipStrategy(def)).where(new StepCondition(def, first)), def, first);
        p = append(p, def, steps.subList(1, steps.size()));
        if (def.within != null) p = p.within(def.within.plus(INCLUSIVE), WithinType.FIRST_AND_LAST);
        return p;
    }

    /** The steps after the first, each after the pattern built so far, with its contiguity, quantifier and window. */
    private static Pattern<BehaviorEvent, BehaviorEvent> append(Pattern<BehaviorEvent, BehaviorEvent> p, PatternDefinition def,
                                                               List<StepDefinition> steps) {
        for (StepDefinition s : steps) {
            if (s.absent) {
                p = s.contiguity == PatternDefinition.Contiguity.NEXT ? p.notNext(s.name) : p.notFollowedBy(s.name);
                p = p.where(new StepCondition(def, s));
                if (s.absentFor != null) p = p.within(s.absentFor.plus(INCLUSIVE), WithinType.PREVIOUS_AND_CURRENT);
            } else if (s.isGroup()) {
                Pattern<BehaviorEvent, BehaviorEvent> g = group(def, s);
                p = switch (s.contiguity) {
                    case NEXT -> p.next(g);
                    case FOLLOWED_BY -> p.followedBy(g);
                    case FOLLOWED_BY_ANY -> p.followedByAny(g);
                };
                p = quantify(p, def, s);
            } else {
                p = switch (s.contiguity) {
                    case NEXT -> p.next(s.name);
                    case FOLLOWED_BY -> p.followedBy(s.name);
                    case FOLLOWED_BY_ANY -> p.followedByAny(s.name);
                };
                p = quantify(p.where(new StepCondition(def, s)), def, s);
                if (s.within != null) p = p.within(s.within.plus(INCLUSIVE), WithinType.PREVIOUS_AND_CURRENT);
            }
        }
        return p;
    }

    /**
     * A group's steps as the sub-pattern Flink CEP's {@code GroupPattern} wraps. The group's window
     * goes on its first step: Flink CEP ignores a {@link WithinType#PREVIOUS_AND_CURRENT} window set
     * on the group itself, and on the first step it times every repetition's first event from the
     * event before it.
     */
    private static Pattern<BehaviorEvent, BehaviorEvent> group(PatternDefinition def, StepDefinition g) {
        StepDefinition first = g.group.get(0);
        Pattern<BehaviorEvent, BehaviorEvent> p = quantify(Pattern.<BehaviorEvent>begin(first.name).where(new StepCondition(def, first)), def, first);
        if (g.within != null) p = p.within(g.within.plus(INCLUSIVE), WithinType.PREVIOUS_AND_CURRENT);
        return append(p, def, g.group.subList(1, g.group.size()));
    }

    /**
     * The windows {@link #compile} sets from the previous event, as the compiled state graph applies
     * them: by the step's name, for every state that waits for the step (the step's own name, and
     * Flink's copies {@code step:0}, {@code step:1}, ... of a step inside a repeated group), in
     * milliseconds, inclusive end included. Flink CEP applies a {@link WithinType#PREVIOUS_AND_CURRENT} window only
     * to a step taken once (optional or not); on a repeated step ({@code times}, {@code one_or_more})
     * it reads the window of the repetition instead, which no pattern file sets, so a repeated
     * step's {@code within} has no effect there, and none here.
     */
    public static Map<String, Long> previousEventWindows(PatternDefinition def) {
        Map<String, Long> windows = new HashMap<>();
        for (StepDefinition s : def.steps) {
            if (s.isGroup()) {
                // the group's window is its first step's (see group())
                putWindow(windows, s.group.get(0), s.within);
                for (int i = 1; i < s.group.size(); i++) putWindow(windows, s.group.get(i), windowOf(s.group.get(i)));
            } else if (s != def.leadingAbsence()) {
                putWindow(windows, s, windowOf(s));
            }
        }
        return windows;
    }

    private static Duration windowOf(StepDefinition s) {
        return s.absent ? s.absentFor : s.within;
    }

    private static void putWindow(Map<String, Long> windows, StepDefinition s, Duration window) {
        boolean once = s.quantifier.min == 1 && s.quantifier.max == 1;
        if (window != null && once) windows.put(s.name, window.plus(INCLUSIVE).toMillis());
    }

    /** The pattern-wide window {@link #compile} sets from the first event, in milliseconds, or 0. */
    public static long firstEventWindow(PatternDefinition def) {
        return def.within == null ? 0 : def.within.plus(INCLUSIVE).toMillis();
    }

    private static Pattern<BehaviorEvent, BehaviorEvent> quantify(Pattern<BehaviorEvent, BehaviorEvent> p, PatternDefinition def, StepDefinition s) {
        PatternDefinition.Quantifier q = s.quantifier;
        if (q.max == -1) p = q.min <= 1 ? p.oneOrMore() : p.timesOrMore(q.min);
        else if (q.max != 1 || q.min != 1) p = q.min == q.max ? p.times(q.min) : p.times(q.min, q.max);
        if (s.loops()) {
            if (q.inner == PatternDefinition.Contiguity.NEXT) p = p.consecutive();
            else if (q.inner == PatternDefinition.Contiguity.FOLLOWED_BY_ANY) p = p.allowCombinations();
            if (q.until != null) p = p.until(new MatcherCondition(def, q.until));
        }
        if (q.optional) p = p.optional();
        if (q.greedy) p = p.greedy();
        return p;
    }

    static AfterMatchSkipStrategy skipStrategy(PatternDefinition def) {
        return switch (def.afterMatch) {
            case NO_SKIP -> AfterMatchSkipStrategy.noSkip();
            case SKIP_PAST_LAST_EVENT -> AfterMatchSkipStrategy.skipPastLastEvent();
            case SKIP_TO_NEXT -> AfterMatchSkipStrategy.skipToNext();
            case SKIP_TO_FIRST -> AfterMatchSkipStrategy.skipToFirst(def.afterMatchStep);
            case SKIP_TO_LAST -> AfterMatchSkipStrategy.skipToLast(def.afterMatchStep);
        };
    }

    /**
     * Flink CEP's own verdict on a pattern (it rejects, for example, an optional step right before
     * an absence); null when it compiles. Run by the loader so the operator sees it as a problem of
     * the file instead of a failed job submission.
     */
    public static String check(PatternDefinition def) {
        try {
            NFACompiler.compileFactory(compile(def), false);
            return null;
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }

    /**
     * True when events that no step's name/type accepts can be skipped before the pattern engine
     * without changing any match: only strict contiguity ({@code next}, between steps or {@code loop: next}
     * inside a repeated step) and groups notice unrelated events.
     */
    public static boolean canPreFilter(PatternDefinition def) {
        // a group's graph leaves each repetition through a PROCEED edge to a state that ignores
        // events, and Flink CEP copies such a run on every event, taken by a step or not: those
        // copies are matches of their own (measured by the differential test), so every event counts
        if (def.steps.stream().anyMatch(StepDefinition::isGroup)) return false;
        return java.util.stream.Stream.concat(def.steps.stream(), def.flatSteps().stream())
                .noneMatch(s -> s.contiguity == PatternDefinition.Contiguity.NEXT
                        || (s.loops() && s.quantifier.inner == PatternDefinition.Contiguity.NEXT));
    }

    /** Whether any step of the pattern could use this event; the cheap pre-filter. */
    public static boolean isRelevant(PatternDefinition def, BehaviorEvent e) {
        for (StepDefinition s : def.flatSteps()) {
            if (s.matcher.matchesKind(e)) return true;
            // the event that ends a repeated step ({@code until}) is needed too
            if (s.quantifier.until != null && s.quantifier.until.matchesKind(e)) return true;
        }
        return false;
    }

    /**
     * A condition of one pattern that counts its run-time failures ({@link EvalContext#reportError})
     * in the pattern's {@code conditionErrors} metric; the condition itself then counts as false.
     */
    abstract static class CountingCondition extends RichIterativeCondition<BehaviorEvent> {
        private final String patternId;
        private final int patternVersion;
        transient Counter errors;

        CountingCondition(PatternDefinition def) {
            this.patternId = def.id;
            this.patternVersion = def.version;
        }

        @Override
        public void open(OpenContext openContext) throws Exception {
            // Flink CEP opens a condition once per transition that uses it: take the shared counter once
            if (errors == null) errors = MatchFunction.conditionErrors(getRuntimeContext().getMetricGroup(), patternId, patternVersion);
        }
    }

    /** An {@code until} condition: name/type and conditions on the event alone. */
    static final class MatcherCondition extends CountingCondition {
        private final EventMatcher matcher;

        MatcherCondition(PatternDefinition def, EventMatcher matcher) {
            super(def);
            this.matcher = matcher;
        }

        @Override
        public boolean filter(BehaviorEvent e, Context<BehaviorEvent> ctx) {
            return matcher.matches(e, new CepEvalContext(e, matcher.needsStepContext() ? ctx : null, errors));
        }
    }

    /** One step's condition; looks up earlier steps' events only when a condition refers to them. */
    static final class StepCondition extends CountingCondition {
        private final StepDefinition step;
        private final boolean needsSteps;

        StepCondition(PatternDefinition def, StepDefinition step) {
            super(def);
            this.step = step;
            this.needsSteps = step.matcher.needsStepContext();
        }

        @Override
        public boolean filter(BehaviorEvent e, Context<BehaviorEvent> ctx) throws Exception {
            if (!step.matcher.matchesKind(e)) return false;
            if (!step.matcher.hasConditions()) return true;
            return step.matcher.matches(e, new CepEvalContext(e, needsSteps ? ctx : null, errors));
        }
    }

    static final class CepEvalContext implements EvalContext {
        private final BehaviorEvent current;
        private final IterativeCondition.Context<BehaviorEvent> ctx;
        private final Counter errors;

        CepEvalContext(BehaviorEvent current, IterativeCondition.Context<BehaviorEvent> ctx, Counter errors) {
            this.current = current;
            this.ctx = ctx;
            this.errors = errors;
        }

        @Override
        public void reportError(String message) {
            if (errors != null) errors.inc();
        }

        @Override
        public BehaviorEvent current() {
            return current;
        }

        @Override
        public List<BehaviorEvent> step(String name) {
            if (ctx == null) return List.of();
            // several conditions of one step may read the same earlier step: read it from CEP's buffer once
            if (name.equals(lastStep)) return lastEvents;
            try {
                Iterable<BehaviorEvent> events = ctx.getEventsForPattern(name);
                List<BehaviorEvent> out;
                if (events instanceof List<BehaviorEvent> list) {
                    out = list; // conditions only read it
                } else {
                    out = new ArrayList<>();
                    for (BehaviorEvent e : events) out.add(e);
                }
                lastStep = name;
                lastEvents = out;
                return out;
            } catch (Exception e) {
                throw new IllegalStateException("cannot read events of step " + name, e);
            }
        }

        private String lastStep;
        private List<BehaviorEvent> lastEvents;

        @Override
        public String profileField(String name) {
            return current.profile == null ? null : current.profile.field(name);
        }

        @Override
        public double profileNumber(String name) {
            return current.profile == null ? Double.NaN : current.profile.number(name);
        }
    }
}
