package io.behaviorcep.cli;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;
import io.behaviorcep.pattern.PatternWarnings;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** Checks pattern files and prints every problem as FILE:LINE:COL: message. */
@Command(name = "validate", mixinStandardHelpOptions = true,
        description = "Check pattern files (a file or a folder); print every problem as FILE:LINE:COL: message. Exit 1 on any problem; "
                + "warnings (FILE:LINE:COL: warning: ...) do not fail.")
public final class ValidateCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "PATH", description = "pattern files or folders")
    List<Path> paths;

    @Override
    public Integer call() {
        int problems = 0;
        int patterns = 0;
        int segments = 0;
        for (Path p : paths) {
            PatternLoader.Result r = PatternLoader.load(p);
            for (PatternProblem problem : r.problems()) System.out.println(problem);
            for (PatternDefinition d : r.patterns()) {
                // warnings do not fail validate: the pattern runs, bounded
                for (PatternProblem w : PatternWarnings.of(d)) System.out.println(w);
                System.out.println("ok  " + d.label() + "  (" + d.source + ")" + (d.enabled ? "" : "  disabled"));
            }
            for (io.behaviorcep.pattern.ThresholdSegment s : r.segments()) {
                System.out.println("ok  segment " + s.id + "  (" + s.source + ")" + (s.enabled ? "" : "  disabled"));
            }
            for (io.behaviorcep.pattern.TraitDefinition t : r.traits()) {
                System.out.println("ok  trait " + t.id + " = " + t.spec() + "  (" + t.source + ")");
            }
            problems += r.problems().size() + validatePolicies(p);
            patterns += r.patterns().size();
            segments += r.segments().size();
        }
        System.out.println(patterns + " valid pattern(s), " + segments + " threshold segment(s), " + problems + " problem(s)");
        return problems == 0 ? 0 : 1;
    }

    /** The messaging policy files ({@code kind: policy}) at {@code path}; prints each problem, returns how many. */
    static int validatePolicies(Path path) {
        List<Path> files = new java.util.ArrayList<>();
        try {
            if (java.nio.file.Files.isDirectory(path)) {
                try (var s = java.nio.file.Files.list(path)) {
                    s.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().forEach(files::add);
                }
            } else if (java.nio.file.Files.isRegularFile(path)) {
                files.add(path);
            }
        } catch (java.io.IOException e) {
            return 0; // the pattern loader reports an unreadable path
        }
        int problems = 0;
        for (Path f : files) {
            String text;
            try {
                text = java.nio.file.Files.readString(f);
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                continue; // not UTF-8 or unreadable: the pattern loader reports it
            }
            if (!io.behaviorcep.policy.PolicyFile.declaresPolicy(text)) continue;
            io.behaviorcep.policy.PolicyFile.Result r = io.behaviorcep.policy.PolicyFile.read(f);
            r.problems().forEach(System.out::println);
            if (r.ok()) System.out.println("ok  policy  (" + f + ", " + r.policy().channels.size() + " channel(s), "
                    + r.policy().examples.size() + " example(s))");
            problems += r.problems().size();
        }
        return problems;
    }
}
