package io.behaviorcep.action;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.EventMatcher;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.expr.SimpleEvalContext;

import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Picks out the few events that end a segment membership ({@code exit_on}), so that only those,
 * not the whole stream, travel to the actions operator.
 */
public class ExitSignals implements FlatMapFunction<BehaviorEvent, ActionInput> {
    private final List<PatternDefinition> withExits;

    public ExitSignals(List<PatternDefinition> patterns) {
        this.withExits = patterns.stream().filter(p -> p.segment != null && !p.segment.exitOn.isEmpty()).toList();
    }

    public boolean hasAny() {
        return !withExits.isEmpty();
    }

    @Override
    public void flatMap(BehaviorEvent e, Collector<ActionInput> out) {
        Set<String> segments = null;
        for (PatternDefinition p : withExits) {
            for (EventMatcher m : p.segment.exitOn) {
                if (m.matches(e, SimpleEvalContext.of(e))) {
                    if (segments == null) segments = new HashSet<>();
                    if (segments.add(p.segment.name)) {
                        ActionInput exit = ActionInput.exit(e.userKey, p.segment.name, p.id, e.messageId, e.timestamp);
                        if (p.segment.exitAlert != null) exit.exitProfile = e.profile;
                        out.collect(exit);
                    }
                    break;
                }
            }
        }
    }
}
