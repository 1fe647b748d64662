package io.behaviorcep.ops;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checks a custom resource against its CRD's structural openAPIV3Schema, as the API server would
 * with {@code kubectl apply --validate=strict}: types, enums, required fields, int-or-string, and
 * unknown fields (which the API server would otherwise drop without a word, so that a misspelt
 * setting silently does nothing). Metadata is the API server's own and not part of the schema.
 */
final class CrdSchema {
    private final JsonNode crd;

    CrdSchema(JsonNode crd) {
        this.crd = crd;
    }

    String group() {
        return crd.at("/spec/group").asText();
    }

    String kind() {
        return crd.at("/spec/names/kind").asText();
    }

    /** Every problem of {@code resource}, as "path: message"; empty when it is valid. */
    List<String> validate(JsonNode resource) {
        List<String> problems = new ArrayList<>();
        String apiVersion = resource.path("apiVersion").asText();
        JsonNode version = null;
        for (JsonNode v : crd.at("/spec/versions")) {
            if ((group() + "/" + v.path("name").asText()).equals(apiVersion) && v.path("served").asBoolean(true)) version = v;
        }
        if (version == null) {
            problems.add("apiVersion: " + apiVersion + " is not served by the CRD " + crd.at("/metadata/name").asText());
            return problems;
        }
        if (!kind().equals(resource.path("kind").asText())) problems.add("kind: expected " + kind());
        JsonNode schema = version.at("/schema/openAPIV3Schema");
        Iterator<Map.Entry<String, JsonNode>> fields = resource.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            if (List.of("apiVersion", "kind", "metadata").contains(f.getKey())) continue;
            JsonNode s = schema.path("properties").get(f.getKey());
            if (s == null) problems.add(f.getKey() + ": unknown field");
            else check(f.getValue(), s, f.getKey(), problems);
        }
        return problems;
    }

    private static void check(JsonNode value, JsonNode schema, String path, List<String> problems) {
        if (value.isNull()) {
            if (!schema.path("nullable").asBoolean(false)) problems.add(path + ": null is not allowed");
            return;
        }
        if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
            if (!value.isIntegralNumber() && !value.isTextual()) problems.add(path + ": must be an integer or a string");
            return;
        }
        boolean preserveUnknown = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false);
        String type = schema.path("type").asText("");
        switch (type) {
            case "object" -> {
                if (!value.isObject()) {
                    problems.add(path + ": must be an object");
                    return;
                }
                checkObject(value, schema, path, preserveUnknown, problems);
            }
            case "array" -> {
                if (!value.isArray()) {
                    problems.add(path + ": must be a list");
                    return;
                }
                for (int i = 0; i < value.size(); i++) check(value.get(i), schema.path("items"), path + "[" + i + "]", problems);
            }
            case "string" -> {
                if (!value.isTextual()) problems.add(path + ": must be a string, not " + value);
            }
            case "integer" -> {
                if (!value.isIntegralNumber()) problems.add(path + ": must be an integer, not " + value);
            }
            case "number" -> {
                if (!value.isNumber()) problems.add(path + ": must be a number, not " + value);
            }
            case "boolean" -> {
                if (!value.isBoolean()) problems.add(path + ": must be true or false, not " + value);
            }
            case "" -> {
                if (value.isObject() && (schema.has("properties") || schema.has("additionalProperties"))) {
                    checkObject(value, schema, path, preserveUnknown, problems);
                } else if (!preserveUnknown && !schema.has("anyOf") && !schema.isEmpty()) {
                    problems.add(path + ": the schema gives no type");
                }
            }
            default -> problems.add(path + ": unsupported schema type " + type);
        }
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode e : schema.get("enum")) found |= e.asText().equals(value.asText());
            if (!found) problems.add(path + ": '" + value.asText() + "' is not one of " + schema.get("enum"));
        }
    }

    private static void checkObject(JsonNode value, JsonNode schema, String path, boolean preserveUnknown, List<String> problems) {
        for (JsonNode r : schema.path("required")) {
            if (!value.has(r.asText())) problems.add(path + "." + r.asText() + ": required");
        }
        Iterator<Map.Entry<String, JsonNode>> it = value.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            String p = path + "." + f.getKey();
            JsonNode s = schema.path("properties").get(f.getKey());
            if (s != null) check(f.getValue(), s, p, problems);
            else if (schema.has("additionalProperties") && schema.get("additionalProperties").isObject()) check(f.getValue(), schema.get("additionalProperties"), p, problems);
            else if (!preserveUnknown && !schema.path("additionalProperties").asBoolean(false)) problems.add(p + ": unknown field");
        }
    }
}
