package io.behaviorcep.pattern;

import io.behaviorcep.event.ProfileSnapshot;

import org.yaml.snakeyaml.nodes.Node;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The loader's checks of computed traits across files: unique ids, and every {@code profile.traits.<id>} read is defined. */
final class TraitChecks {
    /** A trait's profile field name starts so: {@code profile.traits.cart_value} is field {@code traits.cart_value}. */
    static final String PREFIX = ProfileSnapshot.TRAITS_PREFIX;
    /** A payload template {@code ${profile.<field>}} reads the profile the alert carries. */
    static final String PROFILE = "profile";

    private TraitChecks() {}

    /**
     * The traits of every clean traits file; duplicate ids and references to traits no file defines
     * are problems (of the file that has them).
     */
    static List<TraitDefinition> acrossFiles(List<PatternLoader.FileReader> traitReaders, List<PatternLoader.FileReader> allReaders,
                                             List<PatternProblem> problems) {
        Map<String, String> seen = new LinkedHashMap<>();
        List<TraitDefinition> traits = new ArrayList<>();
        for (PatternLoader.FileReader r : traitReaders) {
            boolean clean = r.problems.isEmpty();
            for (Map.Entry<String, int[]> e : r.traitIdPositions.entrySet()) {
                String other = seen.putIfAbsent(e.getKey(), r.file);
                if (other != null) {
                    problems.add(new PatternProblem(r.file, e.getValue()[0], e.getValue()[1], "duplicate trait id '" + e.getKey() + "', also defined in " + other));
                    clean = false;
                }
            }
            if (clean) traits.addAll(r.traitsFile);
        }
        references(allReaders, seen.keySet(), problems);
        return traits;
    }

    /** Problems for the {@code profile.traits.<id>} references of {@code readers} that no traits file defines. */
    static void references(List<PatternLoader.FileReader> readers, Collection<String> definedIds, List<PatternProblem> problems) {
        for (PatternLoader.FileReader r : readers) {
            for (Object[] ref : r.traitRefs) {
                String id = (String) ref[0];
                if (!definedIds.contains(id)) {
                    problems.add(new PatternProblem(r.file, (int) ref[1], (int) ref[2], "unknown trait '" + id + "'"
                            + PatternLoader.didYouMean(id, new HashSet<>(definedIds))
                            + (definedIds.isEmpty() ? " (no traits file defines any: add one with kind: traits)" : " (traits are defined in the traits file, kind: traits)")));
                }
            }
        }
    }

    /** Checks the profile field of a payload template {@code ${profile.<field>}}. */
    static void profileTemplate(PatternLoader.FileReader r, String field, Node at) {
        if (field.startsWith(PREFIX)) {
            r.traitRefs.add(new Object[] {field.substring(PREFIX.length()), PatternLoader.FileReader.line(at), PatternLoader.FileReader.column(at)});
        } else if (ProfileSnapshot.timeDependence(field) == null) {
            r.problem(at, "template ${profile." + field + "}: unknown profile field '" + field + "'"
                    + PatternLoader.didYouMean(field, new HashSet<>(ProfileSnapshot.FIELDS)) + " (profile fields are listed in docs/pattern-language.md)");
        }
    }
}
