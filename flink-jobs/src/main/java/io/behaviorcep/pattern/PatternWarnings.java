package io.behaviorcep.pattern;

import io.behaviorcep.pattern.PatternDefinition.Contiguity;
import io.behaviorcep.pattern.PatternDefinition.StepDefinition;

import java.util.ArrayList;
import java.util.List;

/**
 * Valid patterns whose open partial matches can grow exponentially with one user's events: every
 * event of a looping step combined with every later match. They run, but a busy user reaches
 * {@code engine.max-runs-per-user-pattern} and loses their oldest runs. {@code validate} prints
 * these as warnings (same FILE:LINE:COL form as problems); they do not fail it.
 */
public final class PatternWarnings {
    private PatternWarnings() {
    }

    public static List<PatternProblem> of(PatternDefinition d) {
        List<PatternProblem> out = new ArrayList<>();
        String[] lines = d.text() == null ? new String[0] : d.text().split("\n", -1);
        for (StepDefinition g : d.steps) {
            if (g.isGroup() && g.loops() && g.quantifier.inner == Contiguity.FOLLOWED_BY_ANY) {
                out.add(warning(d, lines, g, "loop:", "group '" + g.name + "' repeats with loop: followed_by_any: every combination of its"
                        + " rounds is a partial match, so they multiply with each round"));
            }
        }
        StepDefinition prev = null;
        for (StepDefinition s : d.flatSteps()) {
            if (s.loops() && s.quantifier.inner == Contiguity.FOLLOWED_BY_ANY) {
                out.add(warning(d, lines, s, "loop:", "step '" + s.name + "' repeats with loop: followed_by_any: every combination of its events"
                        + " is a partial match, so they double with each matching event"));
            }
            if (prev != null && prev.loops() && s.contiguity == Contiguity.FOLLOWED_BY_ANY) {
                out.add(warning(d, lines, s, "contiguity:", "step '" + s.name + "' is followed_by_any after the repeating step '" + prev.name
                        + "': every event of it pairs with every run of '" + prev.name + "', whose number grows with each of its events"));
            }
            prev = s;
        }
        return out;
    }

    private static PatternProblem warning(PatternDefinition d, String[] lines, StepDefinition s, String key, String what) {
        int line = Math.max(1, s.line);
        int col = 1;
        // point at the key inside the step if it is written there, else at the step
        for (int i = line - 1; i < lines.length && i >= 0; i++) {
            if (i > line - 1 && lines[i].trim().startsWith("- ")) break;
            int at = lines[i].indexOf(key);
            if (at >= 0) {
                line = i + 1;
                col = at + 1;
                break;
            }
            if (i == line - 1) col = Math.max(1, lines[i].indexOf(lines[i].trim()) + 1);
        }
        return new PatternProblem(d.source, line, col, "warning: " + what
                + "; a user's open runs of this pattern are bounded by engine.max-runs-per-user-pattern (the oldest are dropped)");
    }
}
