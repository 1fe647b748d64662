package io.behaviorcep.deliver;

import java.util.List;
import java.util.stream.Collectors;

/** destinations.yaml has problems: every one of them, one per line. */
public final class InvalidDestinationsException extends IllegalArgumentException {
    private final List<FileProblem> problems;

    public InvalidDestinationsException(List<FileProblem> problems) {
        super(problems.stream().map(FileProblem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    public List<FileProblem> problems() {
        return problems;
    }
}
