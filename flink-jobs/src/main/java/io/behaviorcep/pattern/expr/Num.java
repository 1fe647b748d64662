package io.behaviorcep.pattern.expr;

/** Number parsing and formatting shared by the evaluator and the renderer. */
final class Num {
    private Num() {}

    /**
     * The value of a decimal number in text ("12", "-3.5", "1e3", ".5"), or NaN if the text is not
     * one (including "NaN", "Infinity", hex, blanks, surrounding spaces). Checks the syntax first so
     * non-numeric data never costs an exception.
     */
    static double parse(String s) {
        int n = s.length();
        if (n == 0 || n > 64) return Double.NaN;
        int i = 0;
        char c = s.charAt(0);
        if (c == '-' || c == '+') i++;
        int digits = 0;
        while (i < n && isDigit(s.charAt(i))) { i++; digits++; }
        if (i < n && s.charAt(i) == '.') {
            i++;
            while (i < n && isDigit(s.charAt(i))) { i++; digits++; }
        }
        if (digits == 0) return Double.NaN;
        if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            i++;
            if (i < n && (s.charAt(i) == '-' || s.charAt(i) == '+')) i++;
            int exp = 0;
            while (i < n && isDigit(s.charAt(i))) { i++; exp++; }
            if (exp == 0) return Double.NaN;
        }
        if (i != n) return Double.NaN;
        return Double.parseDouble(s);
    }

    static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** Canonical text of a number: integral values without ".0", others as {@link Double#toString}. */
    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
