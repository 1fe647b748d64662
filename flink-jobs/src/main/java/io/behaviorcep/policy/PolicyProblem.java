package io.behaviorcep.policy;

/** One thing wrong with a policy file, in the {@code FILE:LINE:COL: message} form editors understand. */
public record PolicyProblem(String file, int line, int column, String message) {
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": " + message;
    }
}
