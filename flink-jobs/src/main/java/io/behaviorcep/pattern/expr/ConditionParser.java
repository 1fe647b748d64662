package io.behaviorcep.pattern.expr;

import io.behaviorcep.util.EditDistance;

import io.behaviorcep.pattern.expr.Nodes.And;
import io.behaviorcep.pattern.expr.Nodes.Compare;
import io.behaviorcep.pattern.expr.Nodes.Exists;
import io.behaviorcep.pattern.expr.Nodes.In;
import io.behaviorcep.pattern.expr.Nodes.Matches;
import io.behaviorcep.pattern.expr.Nodes.Not;
import io.behaviorcep.pattern.expr.Nodes.Or;
import io.behaviorcep.pattern.expr.Operand.Aggregate;
import io.behaviorcep.pattern.expr.Operand.BoolLit;
import io.behaviorcep.pattern.expr.Operand.Field;
import io.behaviorcep.pattern.expr.Operand.Fn;
import io.behaviorcep.pattern.expr.Operand.NumberLit;
import io.behaviorcep.pattern.expr.Operand.StringLit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Parses the condition language of pattern files ({@code where:} lines) into an {@link Expr}.
 *
 * <pre>
 * or-expr   := and-expr ('or' and-expr)*
 * and-expr  := unary ('and' unary)*
 * unary     := 'not' unary | '(' or-expr ')' | predicate
 * predicate := operand ( ('=='|'!='|'&lt;'|'&lt;='|'&gt;'|'&gt;=') operand
 *                      | 'in' list | 'not' 'in' list | 'exists' | 'matches' string )
 * operand   := number | string | 'true' | 'false' | path | func '(' path ')'
 * list      := '[' literal (',' literal)* ']'       (numbers, strings, true, false)
 * path      := name ('.' (segment | '*'))*          (at most one '*'; see Wildcards)
 * func      := 'sum' | 'count' | 'min' | 'max' | 'avg'
 * </pre>
 *
 * <p>Keywords and function names are case-insensitive; paths are case-sensitive. Strings are in
 * single or double quotes; {@code \\}, {@code \'}, {@code \"}, {@code \n}, {@code \t}, {@code \r}
 * are escapes and any other backslash is kept as written, so regexes like {@code '^\d+$'} need no
 * doubling. Numbers are decimal ({@code 10}, {@code -2.5}, {@code 1e3}). A path's first segment is
 * a name ({@code [A-Za-z_][A-Za-z0-9_]*}); later segments may also start with a digit and contain
 * {@code -} ({@code properties.products.0.price}).
 *
 * <h2>Paths</h2>
 * <ul>
 *   <li>{@code properties.x}, {@code context.x}, {@code event}, {@code type}, {@code messageId},
 *       {@code userId}, {@code anonymousId}, {@code timestamp}: a field of the event being tested;</li>
 *   <li>{@code profile.x}: a field of the user's profile ({@link EvalContext#profileField});</li>
 *   <li>{@code step.<event field>}: a field of the last event bound to the earlier step
 *       {@code step}. These root names cannot be step names.</li>
 * </ul>
 *
 * <h2>Wildcards</h2>
 * Events are flattened ({@code properties.products.0.product_id}, {@code properties.products.1.product_id},
 * ...), so a path may have one {@code *} segment that stands for any single key segment, usually
 * an array index: {@code properties.products.*.product_id} has the values of every
 * {@code properties.products.<i>.product_id} of the event. It may appear in paths under
 * {@code properties} and {@code context}, of the current event and of steps
 * ({@code viewed.properties.products.*.product_id}: the elements of the step's last event), but not
 * as the first segment after {@code properties}/{@code context}, not twice in one path, and not in
 * {@code profile.*}.
 * <ul>
 *   <li><b>Every predicate on a wildcard path is existential</b>: it is true if SOME value
 *       satisfies it, exactly as the same predicate on a plain field holding that value would.
 *       So {@code properties.products.*.sku == 'x'} means "some product is x", and
 *       {@code properties.products.*.sku != 'x'} means "some product is not x" (true for
 *       {@code ['x', 'y']}), likewise {@code not in}; {@code exists} means "at least one element";
 *       {@code matches}: some value matches.</li>
 *   <li>With no values (no elements, or a step with no events) every predicate on the wildcard
 *       path is false, {@code !=} and {@code not in} included: there is no element to satisfy
 *       it. This differs from a missing plain field, for which {@code !=} is true.</li>
 *   <li>{@code not (...)} negates the whole predicate as usual: "no product is x" is
 *       {@code not (properties.products.*.sku == 'x')} (true with no products), "every product is
 *       x" is {@code not (properties.products.*.sku != 'x')}.</li>
 *   <li>With wildcard paths on both sides, true if some pair of values satisfies the comparison.
 *       A plain field on the other side is read once and keeps its missing-field rules: with
 *       elements present and the other side missing, {@code !=} is true and the rest false.</li>
 *   <li>Aggregates over a wildcard path fold every value: {@code sum(properties.products.*.price)}
 *       over the elements of the current event (aggregates over the current event need a
 *       wildcard), {@code sum(added.properties.products.*.price)} over the elements of every event
 *       bound to {@code added}; {@code count(...)} counts the values present.</li>
 *   <li>A wildcard matches keys {@code prefix + segment + suffix} where the segment is non-empty
 *       and has no '.': {@code properties.products.*.price} does not read
 *       {@code properties.products.0.variant.price}, and {@code properties.tags.*} reads
 *       {@code tags.0}, {@code tags.1}, ... but not {@code tags.0.x}. Evaluation scans the event's
 *       {@code properties} (or {@code context}) map; prefix and suffix are computed when parsing.
 *       Plain paths are a single map lookup.</li>
 * </ul>
 *
 * <h2>Semantics</h2>
 * <ul>
 *   <li>With a number literal or an aggregate on either side, a comparison is numeric: the other
 *       side's text is parsed as a decimal number, and if it is not one the comparison is false.</li>
 *   <li>Two fields compare as numbers if both values are numbers, else as text; a field and a quoted
 *       string compare as text ({@link String#compareTo} for &lt; etc.); true/false compare
 *       case-insensitively with the field's text.</li>
 *   <li>A missing field (or a step with no events yet, or min/max/avg over no numbers) makes every
 *       comparison false except {@code !=}, which is true; {@code in} is false, {@code not in}
 *       true, {@code exists} false, {@code matches} false.</li>
 *   <li>{@code in} is true if the value equals (as {@code ==}) any literal of the list.</li>
 *   <li>{@code matches} needs the WHOLE value to match; write {@code '.*sale.*'} to look for a
 *       substring. The regex is in RE2 syntax and runs in time linear in the value ({@link Regex});
 *       it is compiled once, when parsing.</li>
 *   <li>Aggregates read every event bound to a step: {@code sum}, {@code avg}, {@code min},
 *       {@code max} over the numeric values of the field (others skipped; sum of none is 0);
 *       {@code count(step.field)} counts the events that have the field, {@code count(step)} the
 *       events. With a wildcard path, over every value (see Wildcards).</li>
 *   <li>Evaluation never throws; see {@link Expr#test}.</li>
 * </ul>
 *
 * <p>Mistakes caught when parsing, beyond syntax: unknown functions and fields (with a suggestion),
 * bad regexes, comparing a number with a quoted string, ordering comparisons ({@code <}, ...) with a
 * quoted number (they would compare text), aggregates over a plain field of the current event,
 * misplaced or repeated {@code *}.
 */
public final class ConditionParser {

    /** First path segments that address the event being tested. */
    public static final List<String> EVENT_FIELDS =
            List.of("properties", "context", "event", "type", "messageId", "userId", "anonymousId", "timestamp");
    /** First path segment that addresses the user's profile. */
    public static final String PROFILE = "profile";
    /** Aggregate functions. */
    public static final List<String> FUNCTIONS = List.of("sum", "count", "min", "max", "avg");
    /** Keywords (case-insensitive); not usable as step names. */
    public static final List<String> KEYWORDS = List.of("and", "or", "not", "in", "exists", "matches", "true", "false");

    private static final String COMPARISONS = "==, !=, <, <=, >, >=, in, not in, exists, matches";

    private final String src;
    private final List<Tok> toks;
    private int pos;

    private ConditionParser(String src) {
        this.src = src;
        this.toks = new Lexer(src).run();
    }

    /**
     * Parses one condition.
     *
     * @throws ConditionSyntaxException with the 1-based column of the mistake and a message for the
     *                                  person who wrote the condition
     */
    public static Expr parse(String source) {
        if (source == null || source.isBlank()) {
            throw new ConditionSyntaxException("empty condition", 1, source == null ? "" : source,
                    "write e.g. properties.price >= 10");
        }
        return new ConditionParser(source).all();
    }

    private Expr all() {
        Expr e = orExpr();
        Tok t = peek();
        if (t.kind != K.EOF) {
            if (t.kind == K.RPAREN) throw error("unmatched ')'", t.col, null);
            throw error("unexpected " + t.quoted(), t.col, "expected 'and', 'or' or the end of the condition");
        }
        return e;
    }

    // ---------------------------------------------------------------- expressions

    private Expr orExpr() {
        List<Expr> terms = new ArrayList<>();
        add(terms, andExpr(null), true);
        while (isKeyword(peek(), "or")) {
            next();
            add(terms, andExpr("'or'"), true);
        }
        return terms.size() == 1 ? terms.get(0) : new Or(terms.toArray(new Expr[0]));
    }

    private Expr andExpr(String after) {
        List<Expr> terms = new ArrayList<>();
        add(terms, unary(after), false);
        while (isKeyword(peek(), "and")) {
            next();
            add(terms, unary("'and'"), false);
        }
        return terms.size() == 1 ? terms.get(0) : new And(terms.toArray(new Expr[0]));
    }

    /** Adds {@code e} to an or/and list, splicing in a parenthesised list of the same kind. */
    private static void add(List<Expr> terms, Expr e, boolean or) {
        if (or && e instanceof Or o) terms.addAll(Arrays.asList(o.terms));
        else if (!or && e instanceof And a) terms.addAll(Arrays.asList(a.terms));
        else terms.add(e);
    }

    /** @param after what came before, for "expected a condition after 'and'"; null at the start */
    private Expr unary(String after) {
        Tok t = peek();
        if (isKeyword(t, "not")) {
            next();
            return new Not(unary("'not'"));
        }
        if (t.kind == K.LPAREN) {
            next();
            Expr e = orExpr();
            Tok close = peek();
            if (close.kind != K.RPAREN) {
                if (close.kind == K.EOF) {
                    throw error("missing ')'", close.col, "to close the '(' at column " + t.col);
                }
                throw error("expected ')' to close the '(' at column " + t.col + " but found " + close.quoted(), close.col, null);
            }
            next();
            return e;
        }
        return predicate(after);
    }

    private Expr predicate(String after) {
        Operand left = operand(after == null ? "expected a condition" : "expected a condition after " + after);
        Tok t = next();
        if (t.kind == K.OP) {
            Op op = Op.of(t.text);
            Operand right = operand("expected a value after '" + t.text + "'");
            checkComparable(left, op, right, t);
            return new Compare(left, op, right);
        }
        if (isKeyword(t, "in")) return in(left, false, t);
        if (isKeyword(t, "not")) {
            Tok u = next();
            if (isKeyword(u, "in")) return in(left, true, u);
            if (isKeyword(u, "exists") || isKeyword(u, "matches")) {
                throw error("'not' cannot follow a value", t.col,
                        "put it in front of the condition: not (" + render(left) + " " + u.text.toLowerCase(Locale.ROOT) + " ...)");
            }
            throw error("expected 'in' after 'not'" + (u.kind == K.EOF ? "" : " but found " + u.quoted()), u.col, null);
        }
        if (isKeyword(t, "exists")) {
            return new Exists(requireField(left, "exists", "properties.coupon exists"));
        }
        if (isKeyword(t, "matches")) {
            Field f = requireField(left, "matches", "context.page.url matches '/sale/.*'");
            Tok r = next();
            if (r.kind != K.STRING) {
                throw error("expected a quoted regular expression after 'matches'" + (r.kind == K.EOF ? "" : " but found " + r.quoted()),
                        r.col, null);
            }
            try {
                return new Matches(f, Regex.compile(r.value));
            } catch (Regex.Invalid e) {
                int idx = e.index();
                int col = idx < 0 ? r.col : idx < r.cols.length ? r.cols[idx] : r.endCol;
                throw error(e.getMessage(), col, null);
            }
        }
        String reason = "expected a comparison (" + COMPARISONS + ") after " + left.describe();
        if (t.kind == K.EOF) throw error(reason, t.col, null);
        String hint = t.kind == K.WORD && t.text.indexOf('.') < 0
                ? suggest(t.text.toLowerCase(Locale.ROOT), List.of("in", "exists", "matches", "not"), 2) : null;
        throw error(reason + " but found " + t.quoted(), t.col, hint == null ? null : "did you mean '" + hint + "'?");
    }

    private Field requireField(Operand left, String keyword, String example) {
        if (left instanceof Field f) return f;
        throw error("'" + keyword + "' needs a field, not " + left.describe(), left.column, "e.g. " + example);
    }

    private Expr in(Operand left, boolean negated, Tok inTok) {
        Tok open = next();
        if (open.kind != K.LBRACKET) {
            throw error("expected a list like ['a', 'b'] after '" + (negated ? "not in" : "in") + "'"
                    + (open.kind == K.EOF ? "" : " but found " + open.quoted()), open.col, null);
        }
        if (peek().kind == K.RBRACKET) throw error("the list is empty", peek().col, null);
        List<Operand> items = new ArrayList<>();
        while (true) {
            Tok t = next();
            Operand item = literal(t);
            if (item == null) {
                if (t.kind == K.EOF) throw error("missing ']'", t.col, "to close the list at column " + open.col);
                throw error("list items must be numbers, quoted strings, true or false; found " + t.quoted(), t.col,
                        t.kind == K.WORD ? "put text in quotes: '" + t.text + "'" : null);
            }
            if (left.numeric() && !(item instanceof NumberLit)) {
                throw error("cannot compare " + left.describe() + " with " + item.describe(), item.column,
                        item instanceof StringLit ? "remove the quotes to compare numbers" : null);
            }
            items.add(item);
            Tok sep = next();
            if (sep.kind == K.RBRACKET) break;
            if (sep.kind == K.EOF) throw error("missing ']'", sep.col, "to close the list at column " + open.col);
            if (sep.kind != K.COMMA) throw error("expected ',' or ']' in the list but found " + sep.quoted(), sep.col, null);
        }
        return new In(left, items.toArray(new Operand[0]), negated);
    }

    // ---------------------------------------------------------------- operands

    private Operand operand(String expected) {
        Tok t = next();
        Operand lit = literal(t);
        if (lit != null) return lit;
        if (t.kind == K.EOF) throw error(expected, t.col, null);
        if (t.kind != K.WORD || KEYWORDS.contains(t.text.toLowerCase(Locale.ROOT))) {
            throw error(expected + " but found " + t.quoted(), t.col, null);
        }
        boolean dotted = t.text.indexOf('.') >= 0;
        if (!dotted && peek().kind == K.LPAREN) return aggregate(t);
        if (!dotted && FUNCTIONS.contains(t.text.toLowerCase(Locale.ROOT))) {
            throw error("expected '(' after '" + t.text + "'", peek().col, "e.g. sum(added.properties.price)");
        }
        return field(t.text, t.col);
    }

    private static Operand literal(Tok t) {
        switch (t.kind) {
            case NUMBER: return new NumberLit(t.number, t.col);
            case STRING: return new StringLit(t.value, t.col);
            default:
                if (isKeyword(t, "true")) return new BoolLit(true, t.col);
                if (isKeyword(t, "false")) return new BoolLit(false, t.col);
                return null;
        }
    }

    private Field field(String path, int col) {
        int dot = path.indexOf('.');
        String root = dot < 0 ? path : path.substring(0, dot);
        if (EventField.root(root) != null) {
            return new Field(FieldRef.Kind.CURRENT, null, eventField(path, col, null), null, path, col);
        }
        if (root.equals(PROFILE)) {
            if (dot < 0) throw error("'profile' needs a field name", col, "e.g. profile.orders_lifetime");
            int star = path.indexOf('*');
            if (star >= 0) throw error("'*' is not supported in profile fields", col + star, null);
            return new Field(FieldRef.Kind.PROFILE, null, null, path.substring(dot + 1), path, col);
        }
        checkRootCase(root, col);
        if (dot < 0) {
            String kw = root.length() > 2 ? suggest(root.toLowerCase(Locale.ROOT), KEYWORDS, 1) : null;
            throw error("'" + root + "' is not a field", col, kw != null ? "did you mean '" + kw + "'?"
                    : "write properties." + root + " for a property of this event, or <step>.properties." + root
                    + " for a property of an earlier step's event");
        }
        String rel = path.substring(dot + 1);
        return new Field(FieldRef.Kind.STEP, root, eventField(rel, col + dot + 1, root), null, path, col);
    }

    private Aggregate aggregate(Tok name) {
        String lower = name.text.toLowerCase(Locale.ROOT);
        if (!FUNCTIONS.contains(lower)) {
            String s = suggest(lower, FUNCTIONS, 2);
            throw error("unknown function '" + name.text + "'", name.col,
                    s != null ? "did you mean '" + s + "'?" : "the functions are " + String.join(", ", FUNCTIONS));
        }
        Fn fn = Fn.valueOf(lower.toUpperCase(Locale.ROOT));
        String example = fn == Fn.COUNT ? "count(added)" : fn.label + "(added.properties.price)";
        next(); // '('
        Tok arg = next();
        if (arg.kind != K.WORD || KEYWORDS.contains(arg.text.toLowerCase(Locale.ROOT))) {
            throw error("expected a step" + (fn == Fn.COUNT ? "" : " field") + " inside " + fn.label + "(...)"
                    + (arg.kind == K.EOF ? "" : " but found " + arg.quoted()), arg.col, "e.g. " + example);
        }
        Tok close = next();
        if (close.kind != K.RPAREN) {
            throw error("expected ')' to close " + fn.label + "(" + (close.kind == K.EOF ? "" : " but found " + close.quoted()),
                    close.col, null);
        }
        String path = arg.text;
        int dot = path.indexOf('.');
        String root = dot < 0 ? path : path.substring(0, dot);
        if (EventField.root(root) != null && path.indexOf('*') >= 0) {
            EventField f = eventField(path, arg.col, null);
            if (f.wildcard()) return new Aggregate(fn, null, f, path, arg.col);
        }
        if (EventField.root(root) != null || root.equals(PROFILE)) {
            throw error(fn.label + "() works over the events of an earlier step, and '" + path + "' is a field of the "
                    + (root.equals(PROFILE) ? "profile" : "current event"), arg.col, "e.g. " + example
                    + (root.equals(PROFILE) ? "" : ", or over the elements of an array of this event: " + fn.label + "(properties.products.*."
                    + (fn == Fn.COUNT ? "product_id" : "price") + ")"));
        }
        checkRootCase(root, arg.col);
        if (dot < 0) {
            if (fn != Fn.COUNT) {
                throw error(fn.label + "() needs a field of step '" + root + "'", arg.col,
                        "e.g. " + fn.label + "(" + root + ".properties.price)");
            }
            return new Aggregate(fn, root, null, path, arg.col);
        }
        EventField f = eventField(path.substring(dot + 1), arg.col + dot + 1, root);
        return new Aggregate(fn, root, f, path, arg.col);
    }

    /** A path relative to an event ("properties.price"); {@code step} is for messages (null: the current event). */
    private EventField eventField(String rel, int col, String step) {
        int dot = rel.indexOf('.');
        String first = dot < 0 ? rel : rel.substring(0, dot);
        EventField.Root root = EventField.root(first);
        if (first.equals("*")) {
            throw error("'*' cannot stand for the event field" + (step == null ? "" : " of step '" + step + "'"), col,
                    "use it for an array index inside properties or context, e.g. " + (step == null ? "" : step + ".") + "properties.products.*.product_id");
        }
        if (root == null) {
            String s = suggest(first, EVENT_FIELDS, 2);
            throw error("unknown field '" + first + "'" + (step == null ? "" : " of step '" + step + "'"), col,
                    s != null ? "did you mean '" + s + "'?" : "an event has properties.*, context.*, " + String.join(", ", EVENT_FIELDS.subList(2, EVENT_FIELDS.size())));
        }
        if (root == EventField.Root.PROPERTIES || root == EventField.Root.CONTEXT) {
            if (dot < 0) throw error("'" + first + "' needs a field name", col + first.length(), "e.g. " + first + (root == EventField.Root.PROPERTIES ? ".price" : ".page.url"));
            String key = rel.substring(dot + 1);
            int star = key.indexOf('*');
            if (star < 0) return new EventField(root, key, rel);
            int keyCol = col + dot + 1;
            if (star == 0) {
                throw error("'*' cannot be the first segment after '" + first + "'", keyCol,
                        "use it for an array index, e.g. " + first + ".products.*.price");
            }
            int second = key.indexOf('*', star + 1);
            if (second >= 0) throw error("only one '*' is allowed in a path", keyCol + second, null);
            return new EventField(root, key, rel, key.substring(0, star), key.substring(star + 1));
        }
        if (dot >= 0) throw error("'" + first + "' has no sub-fields", col + dot, null);
        return new EventField(root, null, rel);
    }

    /** "Properties.price": a reserved root in the wrong case is a typo, not a step name. */
    private void checkRootCase(String root, int col) {
        for (String r : EVENT_FIELDS) {
            if (r.equalsIgnoreCase(root)) throw error("unknown name '" + root + "'", col, "did you mean '" + r + "'? (names are case-sensitive)");
        }
        if (PROFILE.equalsIgnoreCase(root)) throw error("unknown name '" + root + "'", col, "did you mean 'profile'? (names are case-sensitive)");
    }

    private void checkComparable(Operand l, Op op, Operand r, Tok opTok) {
        for (int i = 0; i < 2; i++) {
            Operand a = i == 0 ? l : r, b = i == 0 ? r : l;
            if (a.numeric() && (b instanceof StringLit || b instanceof BoolLit)) {
                throw error("cannot compare " + a.describe() + " with " + b.describe(), b.column,
                        b instanceof StringLit ? "remove the quotes to compare numbers" : null);
            }
            if (b instanceof BoolLit && op.ordered()) {
                throw error("'" + op.symbol + "' cannot order true/false", opTok.col, "use == or !=");
            }
            if (b instanceof StringLit s && op.ordered() && !(a instanceof StringLit) && Num.parse(s.value) == Num.parse(s.value)) {
                throw error("'" + op.symbol + "' with the quoted number " + s.describe().substring("the string ".length())
                        + " would compare text, not numbers", s.column, "remove the quotes");
            }
        }
    }

    private static String render(Operand o) {
        StringBuilder sb = new StringBuilder();
        o.render(sb);
        return sb.toString();
    }

    // ---------------------------------------------------------------- helpers

    private Tok peek() {
        return toks.get(pos);
    }

    private Tok next() {
        Tok t = toks.get(pos);
        if (t.kind != K.EOF) pos++;
        return t;
    }

    private static boolean isKeyword(Tok t, String kw) {
        return t.kind == K.WORD && t.text.equalsIgnoreCase(kw);
    }

    private ConditionSyntaxException error(String reason, int col, String hint) {
        return new ConditionSyntaxException(reason, col, src, hint);
    }

    /** The closest candidate within {@code maxDistance} edits, or null. */
    static String suggest(String word, List<String> candidates, int maxDistance) {
        String best = null;
        int bestD = maxDistance + 1;
        for (String c : candidates) {
            int d = EditDistance.between(word.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
            if (d < bestD && d < Math.max(c.length(), word.length())) {
                best = c;
                bestD = d;
            }
        }
        return best;
    }


    // ---------------------------------------------------------------- lexer

    private enum K { NUMBER, STRING, WORD, OP, LPAREN, RPAREN, LBRACKET, RBRACKET, COMMA, EOF }

    private static final class Tok {
        final K kind;
        /** Source text (for STRING, as written with quotes). */
        final String text;
        final int col;
        /** STRING: decoded value, the source column of each of its chars, and the closing quote's column. */
        String value;
        int[] cols;
        int endCol;
        double number;

        Tok(K kind, String text, int col) {
            this.kind = kind;
            this.text = text;
            this.col = col;
        }

        String quoted() {
            return kind == K.EOF ? "the end" : kind == K.STRING ? text : "'" + text + "'";
        }
    }

    private static final class Lexer {
        private final String s;
        private final int n;
        private int i;
        private final List<Tok> out = new ArrayList<>();

        Lexer(String s) {
            this.s = s;
            this.n = s.length();
        }

        List<Tok> run() {
            while (i < n) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                    continue;
                }
                int col = i + 1;
                switch (c) {
                    case '(': single(K.LPAREN); continue;
                    case ')': single(K.RPAREN); continue;
                    case '[': single(K.LBRACKET); continue;
                    case ']': single(K.RBRACKET); continue;
                    case ',': single(K.COMMA); continue;
                    case '\'':
                    case '"': string(c); continue;
                    case '=':
                        if (at(i + 1) == '=') op("==");
                        else if (at(i + 1) == '>' || at(i + 1) == '<') throw error("'=" + at(i + 1) + "' is not an operator", col, "did you mean '" + at(i + 1) + "='?");
                        else throw error("'=' is not an operator", col, "use '==' to test equality");
                        continue;
                    case '!':
                        if (at(i + 1) == '=') op("!=");
                        else throw error("'!' is not an operator", col, "use 'not'");
                        continue;
                    case '<':
                        if (at(i + 1) == '>') throw error("'<>' is not an operator", col, "use '!='");
                        op(at(i + 1) == '=' ? "<=" : "<");
                        continue;
                    case '>':
                        op(at(i + 1) == '=' ? ">=" : ">");
                        continue;
                    case '&':
                        throw error("'" + (at(i + 1) == '&' ? "&&" : "&") + "' is not an operator", col, "use 'and'");
                    case '|':
                        throw error("'" + (at(i + 1) == '|' ? "||" : "|") + "' is not an operator", col, "use 'or'");
                    default:
                }
                if (Num.isDigit(c) || ((c == '-' || c == '.') && (Num.isDigit(at(i + 1)) || (c == '-' && at(i + 1) == '.' && Num.isDigit(at(i + 2)))))) {
                    number();
                } else if (Character.isLetter(c) || c == '_') {
                    word();
                } else if (c == '‘' || c == '’' || c == '“' || c == '”') {
                    throw error("unexpected typographic quote '" + c + "'", col, "use a straight quote ' or \"");
                } else if (c == '/' && !out.isEmpty() && isKeyword(out.get(out.size() - 1), "matches")) {
                    throw error("expected a quoted regular expression after 'matches'", col, "e.g. matches '/sale/.*'");
                } else if (c == '*' && at(i + 1) == '.') {
                    throw error("a path cannot start with '*'", col, "e.g. properties.products.*.price");
                } else if (c == '+' || c == '-' || c == '*' || c == '/' || c == '%') {
                    throw error("unexpected '" + c + "'", col, "arithmetic is not supported");
                } else {
                    throw error("unexpected character '" + c + "'", col, null);
                }
            }
            int end = n;
            while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) end--;
            out.add(new Tok(K.EOF, "", end + 1));
            return out;
        }

        private char at(int k) {
            return k < n ? s.charAt(k) : '\0';
        }

        private void single(K kind) {
            out.add(new Tok(kind, String.valueOf(s.charAt(i)), i + 1));
            i++;
        }

        private void op(String symbol) {
            out.add(new Tok(K.OP, symbol, i + 1));
            i += symbol.length();
        }

        private static boolean segmentChar(char c) {
            return Character.isLetterOrDigit(c) || c == '_' || c == '-';
        }

        private void word() {
            int start = i;
            i++;
            while (i < n && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) i++;
            while (i < n && s.charAt(i) == '.') {
                if (at(i + 1) == '*') {
                    if (segmentChar(at(i + 2)) || at(i + 2) == '*') {
                        throw error("'*' must be a whole path segment", i + 2, "e.g. properties.products.*.price");
                    }
                    i += 2;
                    continue;
                }
                if (!segmentChar(at(i + 1)) || at(i + 1) == '-') {
                    throw error("expected a field name after '.'", i + 2, null);
                }
                i++;
                while (i < n && segmentChar(s.charAt(i))) i++;
            }
            out.add(new Tok(K.WORD, s.substring(start, i), start + 1));
        }

        private void number() {
            int start = i;
            if (s.charAt(i) == '-') i++;
            while (i < n && Num.isDigit(s.charAt(i))) i++;
            if (at(i) == '.' && Num.isDigit(at(i + 1))) {
                i++;
                while (i < n && Num.isDigit(s.charAt(i))) i++;
            }
            if ((at(i) == 'e' || at(i) == 'E')
                    && (Num.isDigit(at(i + 1)) || ((at(i + 1) == '-' || at(i + 1) == '+') && Num.isDigit(at(i + 2))))) {
                i += 2;
                while (i < n && Num.isDigit(s.charAt(i))) i++;
            }
            if (i < n && (segmentChar(s.charAt(i)) || s.charAt(i) == '.')) {
                int end = i;
                while (end < n && (segmentChar(s.charAt(end)) || s.charAt(end) == '.')) end++;
                String text = s.substring(start, end);
                throw error("malformed number '" + text + "'", start + 1,
                        text.chars().anyMatch(Character::isLetter) ? "a field path must start with a letter" : null);
            }
            String text = s.substring(start, i);
            double v = Double.parseDouble(text);
            if (Double.isInfinite(v)) throw error("number out of range '" + text + "'", start + 1, null);
            Tok t = new Tok(K.NUMBER, text, start + 1);
            t.number = v;
            out.add(t);
        }

        private void string(char quote) {
            int start = i;
            i++;
            StringBuilder sb = new StringBuilder();
            int[] cols = new int[n];
            while (i < n) {
                char c = s.charAt(i);
                if (c == quote) {
                    Tok t = new Tok(K.STRING, s.substring(start, i + 1), start + 1);
                    t.value = sb.toString();
                    t.cols = Arrays.copyOf(cols, sb.length());
                    t.endCol = i + 1;
                    out.add(t);
                    i++;
                    return;
                }
                if (c == '\\' && i + 1 < n) {
                    char d = s.charAt(i + 1);
                    switch (d) {
                        case '\\': case '\'': case '"': cols[sb.length()] = i + 1; sb.append(d); break;
                        case 'n': cols[sb.length()] = i + 1; sb.append('\n'); break;
                        case 't': cols[sb.length()] = i + 1; sb.append('\t'); break;
                        case 'r': cols[sb.length()] = i + 1; sb.append('\r'); break;
                        default:
                            cols[sb.length()] = i + 1;
                            sb.append('\\');
                            cols[sb.length()] = i + 2;
                            sb.append(d);
                    }
                    i += 2;
                    continue;
                }
                cols[sb.length()] = i + 1;
                sb.append(c);
                i++;
            }
            throw error("unterminated string", start + 1, "add the closing " + quote);
        }

        private ConditionSyntaxException error(String reason, int col, String hint) {
            return new ConditionSyntaxException(reason, col, s, hint);
        }
    }
}
