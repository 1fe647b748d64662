package io.behaviorcep.util;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML tree that remembers where each node is (line and column as the parser gives them), so that
 * the readers of operators' files (the messaging policy, the webhook destinations) report every
 * problem as {@code FILE:LINE:COL}.
 */
public final class LocatedYaml {
    private LocatedYaml() {}

    public sealed interface Node permits Scalar, Mapping, Sequence {
        int line();

        int column();
    }

    /** A single value; {@code text} is null for YAML's null. */
    public record Scalar(String text, boolean isNull, int line, int column) implements Node {}

    /** A key of a mapping, where the key itself is, and its value. */
    public record Entry(String key, int keyLine, int keyColumn, Node value) {}

    /** The entries in the order of the file. */
    public record Mapping(Map<String, Entry> entries, int line, int column) implements Node {}

    public record Sequence(List<Node> items, int line, int column) implements Node {}

    /** Where a problem of the tree itself is reported. */
    public interface Problems {
        void problem(int line, int column, String message);
    }

    /**
     * The node at the parser's current token, and everything under it. A key given twice in one
     * mapping is a problem at the second; the first is kept.
     */
    public static Node node(JsonParser p, Problems problems) throws IOException {
        JsonLocation at = p.currentTokenLocation();
        int line = at.getLineNr();
        int column = at.getColumnNr();
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_OBJECT) {
            Map<String, Entry> entries = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonLocation k = p.currentTokenLocation();
                p.nextToken();
                Node value = node(p, problems);
                if (entries.containsKey(key)) {
                    problems.problem(k.getLineNr(), k.getColumnNr(), "duplicate key '" + key + "' (the first is on line " + entries.get(key).keyLine() + ")");
                } else {
                    entries.put(key, new Entry(key, k.getLineNr(), k.getColumnNr(), value));
                }
            }
            return new Mapping(entries, line, column);
        }
        if (t == JsonToken.START_ARRAY) {
            List<Node> items = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) items.add(node(p, problems));
            return new Sequence(items, line, column);
        }
        return new Scalar(t == JsonToken.VALUE_NULL ? null : p.getText(), t == JsonToken.VALUE_NULL, line, column);
    }
}
