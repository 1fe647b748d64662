package io.behaviorcep.pattern.expr;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * The regexes of pattern files ({@code matches '...'}) in RE2 syntax, compiled with RE2/J.
 *
 * <p>They run on event values that anyone who can send an event controls (up to 64 KiB each).
 * java.util.regex backtracks, so a regex like {@code (a+)+$} takes exponential time on
 * {@code aaaa...!}; RE2/J runs an automaton, linear in the value for every regex it accepts. The
 * price is the constructs that need backtracking (backreferences, lookaround, atomic groups,
 * possessive quantifiers): they are rejected here, when the pattern file is validated or loaded,
 * with the column of the construct, and never reach an event.
 */
public final class Regex {

    /** A regex that RE2/J cannot run as written: why, and the index in the regex to point at. */
    public static final class Invalid extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final int index;

        Invalid(String reason, int index) {
            super(reason);
            this.index = index;
        }

        public int index() {
            return index;
        }
    }

    private Regex() {
    }

    /** The compiled regex, or {@link Invalid} if RE2/J cannot run it as java.util.regex would read it. */
    public static Pattern compile(String regex) {
        Invalid unsupported = unsupported(regex);
        if (unsupported != null) throw unsupported;
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            String what = e.getDescription();
            String fragment = e.getPattern();
            if (what.startsWith("missing closing )")) {
                throw new Invalid("invalid regular expression (missing closing ) for this '(')", unclosedParen(regex));
            }
            int at = fragment == null ? -1 : regex.indexOf(fragment);
            throw new Invalid("invalid regular expression (" + what + (fragment == null || fragment.equals(regex) ? "" : ": " + fragment) + ")",
                    Math.max(at, 0));
        }
    }

    /**
     * Constructs of java.util.regex that RE2 does not have, named plainly (RE2/J's own messages say
     * "invalid escape sequence" for a backreference), or that RE2/J would accept with another
     * meaning ({@code [a-z&&[^x]]} is an intersection in Java, a set with '&amp;' and '[' in RE2).
     */
    private static Invalid unsupported(String regex) {
        boolean inClass = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\') {
                char n = i + 1 < regex.length() ? regex.charAt(i + 1) : 0;
                if (n == 'Q') {
                    // quoted literal text up to \E: nothing in it is syntax
                    int end = regex.indexOf("\\E", i + 2);
                    if (end < 0) return null;
                    i = end + 1;
                    continue;
                }
                if (!inClass && ((n >= '1' && n <= '9') || n == 'k')) {
                    return new Invalid("backreferences are not supported: regexes run in linear time (RE2 syntax)", i);
                }
                i++;
                continue;
            }
            if (inClass) {
                if (c == ']') inClass = false;
                else if (c == '&' && i + 1 < regex.length() && regex.charAt(i + 1) == '&') {
                    return new Invalid("character class intersection (&&) is not supported (RE2 syntax)", i);
                }
                continue;
            }
            if (c == '[') {
                inClass = true;
                // a ']' right after '[' or '[^' is a literal
                if (i + 1 < regex.length() && regex.charAt(i + 1) == '^') i++;
                if (i + 1 < regex.length() && regex.charAt(i + 1) == ']') i++;
                continue;
            }
            if (c == '(' && regex.startsWith("(?", i)) {
                if (regex.startsWith("(?=", i) || regex.startsWith("(?!", i) || regex.startsWith("(?<=", i) || regex.startsWith("(?<!", i)) {
                    return new Invalid("lookahead and lookbehind are not supported: regexes run in linear time (RE2 syntax)", i);
                }
                if (regex.startsWith("(?>", i)) {
                    return new Invalid("atomic groups are not supported: regexes run in linear time (RE2 syntax)", i);
                }
            }
            if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < regex.length() && regex.charAt(i + 1) == '+') {
                return new Invalid("possessive quantifiers are not supported: regexes run in linear time (RE2 syntax); "
                        + "drop the '+'", i);
            }
        }
        return null;
    }

    /** The index of the last '(' left open (outside classes and escapes), or 0. */
    private static int unclosedParen(String regex) {
        java.util.ArrayDeque<Integer> open = new java.util.ArrayDeque<>();
        boolean inClass = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\') {
                i++;
            } else if (inClass) {
                if (c == ']') inClass = false;
            } else if (c == '[') {
                inClass = true;
                if (i + 1 < regex.length() && regex.charAt(i + 1) == '^') i++;
                if (i + 1 < regex.length() && regex.charAt(i + 1) == ']') i++;
            } else if (c == '(') {
                open.push(i);
            } else if (c == ')' && !open.isEmpty()) {
                open.pop();
            }
        }
        return open.isEmpty() ? 0 : open.peek();
    }
}
