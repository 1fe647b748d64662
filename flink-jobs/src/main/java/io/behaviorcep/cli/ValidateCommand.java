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
            for (io.behaviorcep.segment.ThresholdSegment s : r.segments()) {
                System.out.println("ok  segment " + s.id + "  (" + s.source + ")" + (s.enabled ? "" : "  disabled"));
            }
            for (io.behaviorcep.pattern.TraitDefinition t : r.traits()) {
                System.out.println("ok  trait " + t.id + " = " + t.spec() + "  (" + t.source + ")");
            }
            problems += r.problems().size();
            patterns += r.patterns().size();
            segments += r.segments().size();
        }
        System.out.println(patterns + " valid pattern(s), " + segments + " threshold segment(s), " + problems + " problem(s)");
        return problems == 0 ? 0 : 1;
    }
}
