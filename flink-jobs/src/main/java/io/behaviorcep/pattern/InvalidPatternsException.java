package io.behaviorcep.pattern;

import java.util.List;
import java.util.stream.Collectors;

/** The pattern set cannot be used; the job refuses to start and prints every problem. */
public class InvalidPatternsException extends RuntimeException {
    private final List<PatternProblem> problems;

    public InvalidPatternsException(List<PatternProblem> problems) {
        super(problems.size() + " problem(s) in the pattern files:\n"
                + problems.stream().sorted().map(PatternProblem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    public List<PatternProblem> problems() {
        return problems;
    }
}
