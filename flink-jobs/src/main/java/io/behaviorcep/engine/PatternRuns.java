package io.behaviorcep.engine;

import java.util.PriorityQueue;

/**
 * The runs of one pattern (one version of it) for one user: partial matches, and finished matches
 * an after-match skip strategy holds back until the runs that started earlier are decided.
 */
final class PatternRuns {
    /** The pattern version these runs belong to. */
    int version;
    PriorityQueue<Run> partial;
    PriorityQueue<Run> completed;

    PatternRuns(int version, PriorityQueue<Run> partial, PriorityQueue<Run> completed) {
        this.version = version;
        this.partial = partial;
        this.completed = completed;
    }
}
