package io.behaviorcep.policy;

import java.util.List;
import java.util.stream.Collectors;

/** A policy file with problems; the message lists each as {@code FILE:LINE:COL: message}. */
public class InvalidPolicyException extends RuntimeException {
    public final List<PolicyProblem> problems;

    public InvalidPolicyException(List<PolicyProblem> problems) {
        super(problems.stream().map(PolicyProblem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }
}
