package io.behaviorcep.cli;

import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;
import io.behaviorcep.testkit.PatternTestKit;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** Runs every pattern file's examples through the real job and prints a diff for each failure. */
@Command(name = "test", mixinStandardHelpOptions = true,
        description = "Run the examples of pattern files and threshold segment files (a file or a folder) through the real job on a local Flink; print a diff for each failing example. Exit 1 on any failure.")
public final class TestCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "PATH", description = "pattern files or folders (default: patterns)")
    List<Path> paths = List.of(Path.of("patterns"));

    @Override
    public Integer call() throws Exception {
        int failed = 0;
        int passed = 0;
        for (Path path : paths) {
            PatternLoader.Result loaded = PatternLoader.load(path);
            if (!loaded.ok()) {
                for (PatternProblem p : loaded.problems()) System.out.println(p);
                System.out.println("fix the problems above first (see `validate`)");
                return 1;
            }
            for (PatternTestKit.Result r : PatternTestKit.run(loaded)) {
                if (report(r)) passed++;
                else failed++;
            }
            // the messaging policy beside the patterns (kind: policy), run with them
            java.nio.file.Path policyFile = java.nio.file.Files.isDirectory(path) ? path.resolve(io.behaviorcep.policy.PolicyFile.DEFAULT_NAME) : null;
            if (policyFile != null && java.nio.file.Files.isRegularFile(policyFile)) {
                io.behaviorcep.policy.PolicyFile.Result policy = io.behaviorcep.policy.PolicyFile.read(policyFile);
                if (!policy.ok()) {
                    policy.problems().forEach(System.out::println);
                    System.out.println("fix the problems above first (see `validate`)");
                    return 1;
                }
                for (PatternTestKit.PolicyResult r : PatternTestKit.run(policy.policy(), loaded.patterns())) {
                    if (report(r)) passed++;
                    else failed++;
                }
            }
        }
        System.out.println(passed + " example(s) passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    /** Prints PASS or FAIL with the example's place, and the diff of a failure; returns whether it passed. */
    private static boolean report(PatternTestKit.Outcome r) {
        System.out.println((r.passed() ? "PASS " : "FAIL ") + r.title());
        if (!r.passed()) System.out.print(r.diff());
        return r.passed();
    }
}
