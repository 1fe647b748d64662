package io.behaviorcep.pattern;

/** One thing wrong with a pattern file, where it is, in the {@code FILE:LINE:COL: message} form editors understand. */
public record PatternProblem(String file, int line, int column, String message) implements Comparable<PatternProblem> {
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": " + message;
    }

    @Override
    public int compareTo(PatternProblem o) {
        int c = file.compareTo(o.file);
        if (c != 0) return c;
        c = Integer.compare(line, o.line);
        return c != 0 ? c : Integer.compare(column, o.column);
    }
}
