package io.behaviorcep.pattern.expr;

/**
 * A condition that does not parse. {@link #getMessage()} is meant for the operator who wrote the
 * condition and names the column ("expected a value after '>=' at column 17"); {@link #reason()} is
 * the same text without the position, for callers that report the position themselves (e.g. as a
 * file line and column).
 */
public class ConditionSyntaxException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int column;
    private final String reason;
    private final String source;

    public ConditionSyntaxException(String reason, int column, String source) {
        this(reason, column, source, null);
    }

    /** {@code hint} (may be null) is appended after the position: "... at column 3, did you mean 'sum'?". */
    public ConditionSyntaxException(String reason, int column, String source, String hint) {
        super(reason + " at column " + column + (hint == null ? "" : ", " + hint));
        this.column = column;
        this.reason = hint == null ? reason : reason + ", " + hint;
        this.source = source;
    }

    /** 1-based column within the condition text. */
    public int column() {
        return column;
    }

    /** The message without "at column N". */
    public String reason() {
        return reason;
    }

    /** The condition text that failed to parse. */
    public String source() {
        return source;
    }

    /** Two lines for a terminal: the condition, and a caret under the offending column. */
    public String pointer() {
        String s = source == null ? "" : source;
        return s + "\n" + " ".repeat(Math.max(0, column - 1)) + "^";
    }
}
