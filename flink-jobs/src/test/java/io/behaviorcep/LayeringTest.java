package io.behaviorcep;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.stream.Collectors;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The layers of the code, as rules. From the bottom up:
 * <ul>
 *   <li><b>core</b>: shared utilities ({@code util}), the event model ({@code event}), the pattern
 *       language ({@code pattern}, {@code pattern.expr}), threshold segments ({@code segment}),
 *       privacy rules, profile counting, and the pattern engine's algorithm ({@code engine}: the
 *       classes that are not operators). The parts listed in {@link #FLINK_RUNTIME_FREE} use no
 *       Flink runtime, streaming or state API.</li>
 *   <li><b>job</b>: the operators, connectors and pipeline ({@code action}, {@code profile},
 *       {@code reload}, {@code sink}, {@code config}, {@code metrics}, the root package).</li>
 *   <li><b>tools</b>: {@code cli}, {@code local}, {@code replay}, {@code testkit}; they use the job,
 *       nothing in the job uses them. The applications beside the job, {@code deliver} (webhooks)
 *       and {@code serve} (the read API), stand at this level too ({@code deliver}'s demo receiver uses {@code local}).</li>
 *   <li><b>test fixtures</b> ({@code io.behaviorcep.testing..} and every class of the test sources,
 *       such as the Flink CEP reference operator): never used by main code, never in the cluster
 *       jar ({@code ClusterJarIT}).</li>
 * </ul>
 */
class LayeringTest {
    static final String ROOT = "io.behaviorcep";

    /**
     * Packages and classes free of the Flink runtime: what holds today, checked, not what is wished.
     * The rest of event, engine, privacy and profile are operators and stay out.
     */
    static final String[] FLINK_RUNTIME_FREE_PACKAGES = {ROOT + ".util..", ROOT + ".pattern..", ROOT + ".segment..", ROOT + ".trait..",
            ROOT + ".experiment..", ROOT + ".policy..", ROOT + ".identity.."};
    static final Set<String> FLINK_RUNTIME_FREE_CLASSES = Set.of(
            ROOT + ".event.BehaviorEvent", ROOT + ".event.EventParser", ROOT + ".event.RawRecord", ROOT + ".event.ParsedRecord",
            ROOT + ".engine.PatternEngine", ROOT + ".engine.CompiledPattern", ROOT + ".engine.FlinkCepInternals",
            ROOT + ".engine.StateGraph", ROOT + ".engine.Run", ROOT + ".engine.PathNode", ROOT + ".engine.PatternRuns",
            ROOT + ".privacy.PrivacyRules", ROOT + ".action.UserActions",
            ROOT + ".profile.ProfileState", ROOT + ".profile.ProfileSnapshot", ROOT + ".profile.ThresholdEvaluator");
    static final String[] FLINK_RUNTIME = {"org.apache.flink.runtime..", "org.apache.flink.streaming..", "org.apache.flink.api.common.state.."};

    static final String[] TOOLS = {ROOT + ".cli..", ROOT + ".local..", ROOT + ".replay..", ROOT + ".testkit.."};
    static final String[] JOB_AND_CORE = {ROOT, ROOT + ".action..", ROOT + ".config..", ROOT + ".engine..", ROOT + ".event..",
            ROOT + ".metrics..", ROOT + ".pattern..", ROOT + ".privacy..", ROOT + ".profile..", ROOT + ".reload..",
            ROOT + ".segment..", ROOT + ".sink..", ROOT + ".trait..", ROOT + ".util..", ROOT + ".experiment..", ROOT + ".policy..", ROOT + ".identity.."};

    static JavaClasses main;
    static Set<String> testOnlyClasses;

    @BeforeAll
    static void importClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);
        testOnlyClasses = new ClassFileImporter().withImportOption(ImportOption.Predefined.ONLY_INCLUDE_TESTS).importPackages(ROOT)
                .stream().map(JavaClass::getName).collect(Collectors.toSet());
    }

    /**
     * No cycles between the top-level packages, except the dependencies below, each one direction
     * of a cycle that is still there. Remove an entry when its cycle is broken; never add one.
     */
    @Test
    void noCyclesBetweenTheTopLevelPackages() {
        SliceRule rule = slices().matching(ROOT + ".(*)..").should().beFreeOfCycles();
        rule = allowing(rule, "event", "privacy"); // IngestFilter asks PrivacyRules which records are controls
        rule = allowing(rule, "event", "sink"); // StepFailure writes its dead letters with OutputJson
        rule = allowing(rule, "pattern", "segment"); // PatternLoader reads segments.yaml into segment.ThresholdSegment
        // Pseudonymizer rewrites output records (action.Alert, profile.ProfileRecord), and
        // SuppressionListSource reads PostgreSQL with sink.JdbcSettings
        rule = allowing(rule, "privacy", "action");
        rule = allowing(rule, "privacy", "profile");
        rule = allowing(rule, "privacy", "sink");
        rule = allowing(rule, "profile", "sink"); // ProfileFunction writes dead letters with OutputJson
        rule = allowing(rule, "action", "sink"); // PatternActionsFunction writes with OutputJson
        rule = allowing(rule, "config", "sink"); // JobConfig builds sink.JdbcSettings
        rule.check(main);
    }

    private static SliceRule allowing(SliceRule rule, String from, String to) {
        return rule.ignoreDependency(resideInAPackage(ROOT + "." + from + ".."), resideInAPackage(ROOT + "." + to + ".."));
    }

    @Test
    void theCoreLogicIsFreeOfTheFlinkRuntime() {
        noClasses().that().resideInAnyPackage(FLINK_RUNTIME_FREE_PACKAGES)
                .should().dependOnClassesThat().resideInAnyPackage(FLINK_RUNTIME)
                .because("the pattern language, threshold segments, traits, experiments, the messaging policy and utilities are plain logic, testable without Flink")
                .check(main);
        noClasses().that(DescribedPredicate.describe("are the engine's algorithm, the event model, privacy rules, profile counting or the actions' decisions",
                        (JavaClass c) -> FLINK_RUNTIME_FREE_CLASSES.contains(c.getName()) || enclosedIn(c, FLINK_RUNTIME_FREE_CLASSES)))
                .should().dependOnClassesThat().resideInAnyPackage(FLINK_RUNTIME)
                .because("they are plain logic; the operators around them hold the Flink state and timers")
                .check(main);
    }

    private static boolean enclosedIn(JavaClass c, Set<String> names) {
        return c.getEnclosingClass().map(e -> names.contains(e.getName()) || enclosedIn(e, names)).orElse(false);
    }

    @Test
    void mainCodeNeverUsesTestFixtures() {
        noClasses().should().dependOnClassesThat().resideInAPackage(ROOT + ".testing..")
                .because("test fixtures never reach the cluster jar")
                .check(main);
        noClasses().should().dependOnClassesThat(DescribedPredicate.describe("exist only in the test sources",
                        (JavaClass c) -> testOnlyClasses.contains(c.getName())))
                .check(main);
    }

    @Test
    void theJobAndTheCoreNeverUseTheTools() {
        noClasses().that().resideInAnyPackage(JOB_AND_CORE)
                .should().dependOnClassesThat().resideInAnyPackage(TOOLS)
                .because("cli, local, replay and testkit are built on the job, not the other way round")
                .check(main);
    }
}
