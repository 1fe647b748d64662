package io.behaviorcep.serve;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A structural check of a JSON value against a schema of the OpenAPI document: {@code $ref},
 * {@code type}, {@code required}, {@code nullable}, {@code properties}, {@code items} and
 * {@code enum}. Enough to catch a handler and the document drifting apart (a field renamed, dropped
 * or of another type); not a full validator.
 */
final class OpenApiShapes {
    private final JsonNode document;

    OpenApiShapes(JsonNode document) {
        this.document = document;
    }

    /** The schema of {@code path}'s GET answer with {@code status}. */
    JsonNode responseSchema(String path, int status) {
        JsonNode response = resolve(document.path("paths").path(path).path("get").path("responses").path(Integer.toString(status)));
        JsonNode schema = response.path("content").path("application/json").path("schema");
        if (schema.isMissingNode()) throw new AssertionError("no JSON schema documented for GET " + path + " " + status);
        return schema;
    }

    /** Every problem of {@code value} against {@code schema}; empty if it fits. */
    List<String> problems(JsonNode value, JsonNode schema) {
        List<String> out = new ArrayList<>();
        check("$", value, schema, out);
        return out;
    }

    private JsonNode resolve(JsonNode node) {
        while (node.has("$ref")) {
            String ref = node.get("$ref").asText();
            if (!ref.startsWith("#/")) throw new IllegalArgumentException("only local $refs: " + ref);
            JsonNode target = document;
            for (String part : ref.substring(2).split("/")) target = target.path(part);
            if (target.isMissingNode()) throw new AssertionError("dangling $ref " + ref);
            node = target;
        }
        return node;
    }

    private void check(String where, JsonNode value, JsonNode schema, List<String> out) {
        schema = resolve(schema);
        if (value == null || value.isMissingNode()) {
            out.add(where + ": missing");
            return;
        }
        if (value.isNull()) {
            if (!schema.path("nullable").asBoolean(false)) out.add(where + ": null, but not nullable");
            return;
        }
        String type = schema.path("type").asText("");
        boolean typeOk = switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            default -> true;
        };
        if (!typeOk) {
            out.add(where + ": expected " + type + ", got " + value.getNodeType());
            return;
        }
        if (schema.has("enum")) {
            boolean listed = false;
            for (JsonNode e : schema.get("enum")) listed |= e.equals(value);
            if (!listed) out.add(where + ": " + value + " is not one of " + schema.get("enum"));
        }
        if (value.isObject()) {
            for (JsonNode r : schema.path("required")) {
                if (!value.has(r.asText())) out.add(where + ": required field '" + r.asText() + "' is missing");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = schema.path("properties").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> p = it.next();
                if (value.has(p.getKey())) check(where + "." + p.getKey(), value.get(p.getKey()), p.getValue(), out);
            }
        }
        if (value.isArray() && schema.has("items")) {
            for (int i = 0; i < value.size(); i++) check(where + "[" + i + "]", value.get(i), schema.get("items"), out);
        }
    }
}
