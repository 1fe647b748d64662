package io.behaviorcep.testing.cep;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.MatchFunction;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.Collector;

import java.util.List;
import java.util.Map;

/**
 * A Flink CEP match as the job reports it ({@link MatchFunction#toMatch}), with the pattern's
 * metrics: the reference Flink CEP pipeline the engine is held to ends in this.
 */
public class CepMatchFunction extends PatternProcessFunction<BehaviorEvent, PatternMatch> {
    private final PatternDefinition def;
    private transient Counter matches;
    private transient Counter timeoutsFired;

    public CepMatchFunction(PatternDefinition def) {
        this.def = def;
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        super.open(ctx);
        MetricGroup operator = getRuntimeContext().getMetricGroup();
        MetricGroup g = MatchFunction.patternMetrics(operator, def.id, def.version);
        matches = g.counter(MatchFunction.MATCHES);
        timeoutsFired = g.counter(MatchFunction.TIMEOUTS_FIRED);
        MatchFunction.conditionErrors(operator, def.id, def.version); // registered (at 0) even if no condition ever fails
    }

    @Override
    public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<PatternMatch> out) {
        out.collect(MatchFunction.toMatch(def, match));
        if (matches != null) {
            matches.inc();
            // a pattern ending in an absence is decided only when its deadline passes
            if (def.trailingAbsence() != null) timeoutsFired.inc();
        }
    }
}
