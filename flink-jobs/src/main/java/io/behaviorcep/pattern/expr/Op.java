package io.behaviorcep.pattern.expr;

/** Comparison operators. */
enum Op {
    EQ("=="), NE("!="), LT("<"), LE("<="), GT(">"), GE(">=");

    final String symbol;

    Op(String symbol) {
        this.symbol = symbol;
    }

    boolean ordered() {
        return this != EQ && this != NE;
    }

    boolean test(double a, double b) {
        switch (this) {
            case EQ: return a == b;
            case NE: return a != b;
            case LT: return a < b;
            case LE: return a <= b;
            case GT: return a > b;
            default: return a >= b;
        }
    }

    /** On the result of a {@code compareTo}. */
    boolean test(int cmp) {
        switch (this) {
            case EQ: return cmp == 0;
            case NE: return cmp != 0;
            case LT: return cmp < 0;
            case LE: return cmp <= 0;
            case GT: return cmp > 0;
            default: return cmp >= 0;
        }
    }

    static Op of(String symbol) {
        for (Op op : values()) if (op.symbol.equals(symbol)) return op;
        throw new IllegalArgumentException(symbol);
    }
}
