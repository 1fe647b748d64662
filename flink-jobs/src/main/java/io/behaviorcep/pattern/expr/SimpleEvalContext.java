package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A plain {@link EvalContext} backed by maps, for tests and tools (e.g. a "try this condition on
 * this event" command). Errors reported by evaluations are collected in {@link #errors()}.
 */
public record SimpleEvalContext(BehaviorEvent current, Map<String, List<BehaviorEvent>> steps,
                                Map<String, String> profile, List<String> errors) implements EvalContext {

    public static SimpleEvalContext of(BehaviorEvent current) {
        return new SimpleEvalContext(current, Map.of(), Map.of(), new ArrayList<>());
    }

    /** A copy with {@code events} bound to step {@code name} (oldest first); shares the error list. */
    public SimpleEvalContext withStep(String name, BehaviorEvent... events) {
        Map<String, List<BehaviorEvent>> s = new HashMap<>(steps);
        s.put(name, List.of(events));
        return new SimpleEvalContext(current, s, profile, errors);
    }

    /** A copy with one more profile field; shares the error list. */
    public SimpleEvalContext withProfile(String name, String value) {
        Map<String, String> p = new HashMap<>(profile);
        p.put(name, value);
        return new SimpleEvalContext(current, steps, p, errors);
    }

    @Override
    public List<BehaviorEvent> step(String name) {
        List<BehaviorEvent> l = steps.get(name);
        return l == null ? List.of() : l;
    }

    @Override
    public String profileField(String name) {
        return profile.get(name);
    }

    @Override
    public void reportError(String message) {
        errors.add(message);
    }
}
