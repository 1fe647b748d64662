package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.cep.pattern.conditions.IterativeCondition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Runs one compiled pattern over one user's events: Flink CEP's NFA algorithm ({@code NFA.process},
 * {@code NFA.advanceTime}, after-match skipping) step for step, over the state graph Flink's own
 * compiler built, so the matches are Flink CEP's. What differs is where partial matches live:
 * Flink CEP keeps every buffered event, every path and a per-timestamp queue in keyed state and
 * reads and writes them for each event; here a run is a few immutable objects on the heap that
 * share their path with the runs they branched from. The differential tests hold the two to
 * identical matches on randomised streams.
 *
 * <p>Callers feed a user's events in event-time order (the profile operator already releases them
 * so) and call {@link #advanceTime} before each event and whenever event time moves on.
 */
public final class PatternEngine {
    private PatternEngine() {}

    /** Counts a condition that failed on an event; the condition then counts as false. */
    public interface ErrorSink {
        void conditionFailed(CompiledPattern p, RuntimeException e);
    }

    static PatternRuns initial(CompiledPattern p) {
        PriorityQueue<Run> partial = new PriorityQueue<>(Run.ORDER);
        partial.addAll(p.startRuns);
        return new PatternRuns(p.def.version, partial, new PriorityQueue<>(Run.ORDER));
    }

    /** True when the runs hold nothing but the start: the user's state for the pattern can go. */
    static boolean isIdle(CompiledPattern p, PatternRuns runs) {
        if (!runs.completed.isEmpty()) return false;
        for (Run r : runs.partial) {
            if (r.path != null || !p.info(r).start) return false;
        }
        return true; // only fresh start runs: initial() recreates them
    }

    /**
     * When these runs next need event time to reach them, or Long.MAX_VALUE: the earliest deadline
     * of a run whose timing out completes a match (an absence at the end), exactly. Runs that can
     * only expire need no timer of their own (the next event prunes them, and nothing is emitted):
     * one timer when the last of them has expired is enough to let the user's state drain. With an
     * after-match skip strategy every expiry is exact, since it may release a held-back match.
     */
    static long nextDeadline(CompiledPattern p, PatternRuns runs) {
        long exact = Long.MAX_VALUE;
        long lastExpiry = Long.MIN_VALUE;
        // a timed-out partial match is an output of its own when the pattern has on_timeout
        boolean allExact = p.skip.isSkip() || !runs.completed.isEmpty() || p.def.onTimeout() != null;
        for (Run r : runs.partial) {
            StateGraph.Node i = p.info(r);
            if (i.start) continue; // as in Flink, a run in a start state never times out
            long expiry = Long.MAX_VALUE;
            if (i.window > 0) expiry = r.prevTs + i.window;
            if (p.windowTime > 0) expiry = Math.min(expiry, r.startTs + p.windowTime);
            if (expiry == Long.MAX_VALUE) continue;
            if (i.pending || allExact) exact = Math.min(exact, expiry);
            else lastExpiry = Math.max(lastExpiry, expiry);
        }
        return lastExpiry == Long.MIN_VALUE ? exact : Math.min(exact, lastExpiry);
    }

    /** A partial match that timed out, and when: Flink CEP's timed-out partial match ({@code TimedOutPartialMatchHandler}). */
    public record TimedOut(Map<String, List<BehaviorEvent>> partial, long at) {}

    /** {@code NFA.advanceTime}: drops runs whose window passed and completes absences at the end. */
    static void advanceTime(CompiledPattern p, PatternRuns runs, long timestamp, List<Map<String, List<BehaviorEvent>>> out) {
        advanceTime(p, runs, timestamp, out, null);
    }

    /**
     * {@code NFA.advanceTime} with timeout handling: as above, and each run that times out without
     * completing (not an absence at the end) and has bound the pattern's {@code on_timeout.reached}
     * step goes to {@code timedOut}, at the instant its window ended: the previous event's time plus
     * the state's window when that window passed, else the first event's time plus the pattern's.
     */
    static void advanceTime(CompiledPattern p, PatternRuns runs, long timestamp, List<Map<String, List<BehaviorEvent>>> out,
                            List<TimedOut> timedOut) {
        PriorityQueue<Run> next = null;
        PriorityQueue<Run> potential = null;
        for (Run r : runs.partial) {
            StateGraph.Node i = p.info(r);
            boolean previousPassed = !i.start && i.window > 0 && timestamp - r.prevTs >= i.window;
            boolean timedOutRun = !i.start && (previousPassed || (p.windowTime > 0 && timestamp - r.startTs >= p.windowTime));
            if (timedOutRun) {
                if (next == null) next = copyUntil(runs.partial, r);
                if (i.pending) {
                    if (potential == null) potential = new PriorityQueue<>(Run.ORDER);
                    potential.add(r);
                } else if (timedOut != null && p.def.onTimeout() != null && r.path != null && reached(r.path, p.def.onTimeout().reached)) {
                    long at = previousPassed ? r.prevTs + i.window : r.startTs + p.windowTime;
                    timedOut.add(new TimedOut(materialize(pathOf(r.path)), at));
                }
            } else if (next != null) {
                next.add(r);
            }
        }
        if (next == null && runs.completed.isEmpty()) return; // nothing timed out, nothing waiting
        if (next == null) next = runs.partial;
        processMatches(p, runs, potential, next, out);
        runs.partial = next;
    }

    private static boolean reached(PathNode path, String step) {
        if (step == null) return true;
        for (PathNode n = path; n != null; n = n.prev) if (n.step.equals(step)) return true;
        return false;
    }

    /** A new queue with the runs iterated before {@code stop}, in iteration order (so the heap comes out as Flink's). */
    private static PriorityQueue<Run> copyUntil(PriorityQueue<Run> q, Run stop) {
        PriorityQueue<Run> copy = new PriorityQueue<>(Run.ORDER);
        for (Run r : q) {
            if (r == stop) break;
            copy.add(r);
        }
        return copy;
    }

    /** {@code NFA.process} for one event with id (ts, seq), without a bound on the runs (as Flink CEP). */
    static void process(CompiledPattern p, PatternRuns runs, BehaviorEvent event, long ts, int seq, ErrorSink errors,
                        List<Map<String, List<BehaviorEvent>>> out) {
        process(p, runs, event, ts, seq, errors, out, Integer.MAX_VALUE);
    }

    /**
     * {@code NFA.process} for one event with id (ts, seq), keeping at most {@code maxRuns} partial
     * matches: past that, the oldest (earliest first event, as {@link Run#ORDER} sorts them) are
     * dropped, before the matches of this event are released. Flink CEP has no such bound, and one
     * user can make the runs grow without end ({@code followed_by_any} after 1,500 views pairs every
     * add with every view; {@code loop: followed_by_any} doubles them per event): a user with more
     * open partial matches than the bound is not an ordinary user, and the rest of the job must not
     * wait for them. Under the bound nothing changes. Returns the number of runs dropped.
     */
    static int process(CompiledPattern p, PatternRuns runs, BehaviorEvent event, long ts, int seq, ErrorSink errors,
                       List<Map<String, List<BehaviorEvent>>> out, int maxRuns) {
        return process(p, runs, event, ts, seq, errors, out, maxRuns, true);
    }

    /**
     * As above; with {@code mayStart} false no match starts at this event (a leading absence rules
     * it out): the start runs stay as they are, as if the first step's condition were false.
     */
    static int process(CompiledPattern p, PatternRuns runs, BehaviorEvent event, long ts, int seq, ErrorSink errors,
                       List<Map<String, List<BehaviorEvent>>> out, int maxRuns, boolean mayStart) {
        return process(p, runs, event, null, ts, seq, errors, out, maxRuns, mayStart);
    }

    /**
     * As above; runs that bind the event keep {@code kept.kept()} (the event as the engine stores it,
     * {@link EventProjection}) instead of the event itself, which the conditions still read whole.
     * Null: they keep the event itself.
     */
    static int process(CompiledPattern p, PatternRuns runs, BehaviorEvent event, KeptEvent kept, long ts, int seq, ErrorSink errors,
                       List<Map<String, List<BehaviorEvent>>> out, int maxRuns, boolean mayStart) {
        PriorityQueue<Run> next = new PriorityQueue<>(Run.ORDER);
        PriorityQueue<Run> potential = null;
        List<Run> produced = new ArrayList<>(4);
        for (Run r : runs.partial) {
            produced.clear();
            if (!mayStart && r.path == null && p.info(r).start) {
                next.add(r);
                continue;
            }
            computeNextStates(p, r, event, kept, ts, seq, errors, produced);
            boolean discard = false;
            List<Run> retain = null;
            for (Run n : produced) {
                StateGraph.Node s = p.info(n);
                if (s.isFinal) {
                    if (potential == null) potential = new PriorityQueue<>(Run.ORDER);
                    potential.add(n);
                } else if (s.stop) {
                    discard = true;
                } else {
                    if (retain == null) retain = new ArrayList<>(2);
                    retain.add(n);
                }
            }
            if (!discard && retain != null) next.addAll(retain);
        }
        int dropped = next.size() > maxRuns ? dropOldest(next, maxRuns) : 0;
        processMatches(p, runs, potential, next, out);
        runs.partial = next;
        return dropped;
    }

    /**
     * Oldest first: the earliest first event ({@link Run#ORDER}), then the earliest last event, so
     * that the runs that started together are dropped in the order they last moved. Deterministic,
     * unlike the heap's order among equal first events.
     */
    private static final java.util.Comparator<Run> DROP_ORDER = Run.ORDER
            .thenComparingLong((Run r) -> r.prevTs)
            .thenComparingInt(r -> r.path == null ? -1 : r.path.seq);

    /** Drops the oldest open runs (never the start) until {@code maxRuns} are left; returns how many went. */
    private static int dropOldest(PriorityQueue<Run> runs, int maxRuns) {
        List<Run> open = new ArrayList<>(runs.size());
        for (Run r : runs) if (r.hasStartId()) open.add(r);
        int excess = open.size() - maxRuns;
        if (excess <= 0) return 0;
        open.sort(DROP_ORDER);
        java.util.Set<Run> victims = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        victims.addAll(open.subList(0, excess));
        runs.removeIf(victims::contains);
        return excess;
    }

    /** {@code NFA.processMatchesAccordingToSkipStrategy}. */
    private static void processMatches(CompiledPattern p, PatternRuns runs, PriorityQueue<Run> potential,
                                       PriorityQueue<Run> partial, List<Map<String, List<BehaviorEvent>>> out) {
        if (potential != null) runs.completed.addAll(potential);
        Run earliest;
        while ((earliest = runs.completed.peek()) != null) {
            if (p.skip.isSkip()) {
                Run earliestPartial = partial.peek();
                if (earliestPartial != null && Run.ORDER.compare(earliest, earliestPartial) > 0) break;
            }
            runs.completed.poll();
            List<PathNode> path = pathOf(earliest.path);
            if (p.skip.isSkip()) {
                PathNode pruning = pruningId(p.skip, path);
                if (pruning != null) {
                    partial.removeIf(r -> shouldPrune(p.skip, r, pruning));
                    runs.completed.removeIf(r -> shouldPrune(p.skip, r, pruning));
                }
            }
            out.add(materialize(path));
        }
    }

    private static boolean shouldPrune(CompiledPattern.SkipStrategy skip, Run r, PathNode pruning) {
        if (!r.hasStartId()) return false;
        int c = PathNode.compareIds(r.startIdTs, r.startSeq, pruning.ts, pruning.seq);
        return switch (skip.kind) {
            case SKIP_PAST_LAST_EVENT, SKIP_TO_NEXT -> c <= 0;
            case SKIP_TO_FIRST, SKIP_TO_LAST -> c < 0;
            case NO_SKIP -> false;
        };
    }

    /** The event the strategy skips to or past, as Flink's strategies pick it from the match. */
    private static PathNode pruningId(CompiledPattern.SkipStrategy skip, List<PathNode> path) {
        switch (skip.kind) {
            case SKIP_PAST_LAST_EVENT: {
                PathNode max = null;
                for (PathNode n : path) if (max == null || PathNode.compareIds(n.ts, n.seq, max.ts, max.seq) > 0) max = n;
                return max;
            }
            case SKIP_TO_NEXT: {
                // the minimum over the first event of each step: the match's first event
                PathNode min = null;
                for (PathNode n : path) if (min == null || PathNode.compareIds(n.ts, n.seq, min.ts, min.seq) < 0) min = n;
                return min;
            }
            case SKIP_TO_FIRST: {
                for (PathNode n : path) if (n.step.equals(skip.step)) return n;
                return null;
            }
            case SKIP_TO_LAST: {
                PathNode last = null;
                for (PathNode n : path) if (n.step.equals(skip.step)) last = n;
                return last;
            }
            default:
                return null;
        }
    }

    /** The run's bound events, first bound first. */
    static List<PathNode> pathOf(PathNode last) {
        ArrayList<PathNode> nodes = new ArrayList<>();
        for (PathNode n = last; n != null; n = n.prev) nodes.add(n);
        Collections.reverse(nodes);
        return nodes;
    }

    /** As Flink's SharedBufferAccessor.materializeMatch: steps in the order they were first bound. */
    static Map<String, List<BehaviorEvent>> materialize(List<PathNode> path) {
        Map<String, List<BehaviorEvent>> m = new LinkedHashMap<>();
        for (PathNode n : path) m.computeIfAbsent(n.step, k -> new ArrayList<>(2)).add(n.event);
        return m;
    }

    /** {@code NFA.computeNextStates}, without Dewey versions. */
    private static void computeNextStates(CompiledPattern p, Run r, BehaviorEvent event, KeptEvent kept, long ts, int seq,
                                          ErrorSink errors, List<Run> produced) {
        StateGraph.Node current = p.info(r);
        boolean isStart = current.start;
        Ctx ctx = new Ctx(r, ts);
        List<StateGraph.Edge> edges = decisionGraph(p, current, ctx, event, errors);
        for (StateGraph.Edge edge : edges) {
            if (edge.action() == StateGraph.Action.IGNORE) {
                if (!isStart) {
                    produced.add(new Run(edge.target().name, r.path, r.startTs, r.prevTs, r.startIdTs, r.startSeq));
                }
            } else { // TAKE
                StateGraph.Node target = edge.target();
                PathNode node = new PathNode(edge.source().step, kept == null ? event : kept.kept(), ts, seq, r.path);
                long startTs = isStart ? ts : r.startTs;
                long startIdTs = isStart ? ts : r.startIdTs;
                int startSeq = isStart ? seq : r.startSeq;
                produced.add(new Run(target.name, node, startTs, ts, startIdTs, startSeq));
                StateGraph.Node fin = finalStateAfterProceed(p, ctx, target, event, errors);
                if (fin != null) produced.add(new Run(fin.name, node, startTs, ts, startIdTs, startSeq));
            }
        }
        // the start state always stays, as a fresh run that has bound nothing
        if (isStart) produced.add(r.path == null ? r : Run.start(r.state));
    }

    private static StateGraph.Node finalStateAfterProceed(CompiledPattern p, Ctx ctx, StateGraph.Node state,
                                                          BehaviorEvent event, ErrorSink errors) {
        ArrayDeque<StateGraph.Node> toCheck = new ArrayDeque<>();
        toCheck.push(state);
        while (!toCheck.isEmpty()) {
            StateGraph.Node s = toCheck.pop();
            for (StateGraph.Edge t : s.edges()) {
                if (t.action() == StateGraph.Action.PROCEED && check(p, ctx, t.condition(), event, errors)) {
                    if (t.target().isFinal) return t.target();
                    toCheck.push(t.target());
                }
            }
        }
        return null;
    }

    /** {@code NFA.createDecisionGraph}: the TAKE and IGNORE edges reachable through PROCEED edges whose conditions hold. */
    private static List<StateGraph.Edge> decisionGraph(CompiledPattern p, StateGraph.Node state, Ctx ctx,
                                                       BehaviorEvent event, ErrorSink errors) {
        List<StateGraph.Edge> edges = new ArrayList<>(4);
        ArrayDeque<StateGraph.Node> states = new ArrayDeque<>();
        states.push(state);
        while (!states.isEmpty()) {
            StateGraph.Node s = states.pop();
            for (StateGraph.Edge t : s.edges()) {
                if (check(p, ctx, t.condition(), event, errors)) {
                    if (t.action() == StateGraph.Action.PROCEED) states.push(t.target());
                    else edges.add(t);
                }
            }
        }
        return edges;
    }

    private static boolean check(CompiledPattern p, Ctx ctx, IterativeCondition<BehaviorEvent> condition, BehaviorEvent event,
                                 ErrorSink errors) {
        if (condition == null) return true;
        try {
            return condition.filter(event, ctx);
        } catch (RuntimeException e) {
            // a condition that throws is counted against its pattern and counts as false: one bad
            // event or one bad pattern must not stop the job
            if (errors != null) errors.conditionFailed(p, e);
            return false;
        } catch (Exception e) {
            if (errors != null) errors.conditionFailed(p, new RuntimeException(e));
            return false;
        }
    }

    /** What a condition sees: the run's bound events (read once, when first asked) and the event's time. */
    private static final class Ctx implements IterativeCondition.Context<BehaviorEvent> {
        private final Run run;
        private final long timestamp;

        Ctx(Run run, long timestamp) {
            this.run = run;
            this.timestamp = timestamp;
        }

        /**
         * The events bound to one step, oldest first: one walk back along the run's path, without
         * materialising the whole match (a condition usually reads one earlier step, and this runs
         * for every open run at every event the step's kind matches).
         */
        @Override
        public Iterable<BehaviorEvent> getEventsForPattern(String name) {
            ArrayList<BehaviorEvent> events = null;
            for (PathNode n = run.path; n != null; n = n.prev) {
                if (n.step.equals(name)) {
                    if (events == null) events = new ArrayList<>(2);
                    events.add(n.event);
                }
            }
            if (events == null) return List.of();
            if (events.size() > 1) Collections.reverse(events);
            return events;
        }

        @Override
        public long timestamp() {
            return timestamp;
        }

        @Override
        public long currentProcessingTime() {
            return System.currentTimeMillis();
        }
    }
}
