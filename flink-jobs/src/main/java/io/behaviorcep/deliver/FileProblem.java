package io.behaviorcep.deliver;

/** One thing wrong with an operator's file, where it is, in the {@code FILE:LINE:COL: message} form editors understand. */
public record FileProblem(String file, int line, int column, String message) {
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": " + message;
    }
}
