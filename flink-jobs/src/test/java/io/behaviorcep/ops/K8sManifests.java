package io.behaviorcep.ops;

import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Every Kubernetes resource under k8s/ (all YAML documents of all files), with the file it came from. */
final class K8sManifests {
    static final Path DIR = Repo.root().resolve("k8s");
    static final YAMLMapper YAML = new YAMLMapper();

    record Resource(Path file, JsonNode doc) {
        String kind() {
            return doc.path("kind").asText();
        }

        String name() {
            return doc.at("/metadata/name").asText();
        }

        @Override
        public String toString() {
            return file.getFileName() + ": " + kind() + " " + name();
        }
    }

    private K8sManifests() {}

    static List<Resource> all() {
        List<Resource> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList()) {
                try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                    while (docs.hasNext()) {
                        JsonNode d = docs.next();
                        if (d != null && !d.isMissingNode() && !d.isNull() && !d.isEmpty()) out.add(new Resource(f, d));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static List<Resource> ofKind(String kind) {
        return all().stream().filter(r -> r.kind().equals(kind)).toList();
    }

    static Resource one(String kind, String name) {
        return all().stream().filter(r -> r.kind().equals(kind) && r.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + DIR));
    }
}
