package io.behaviorcep;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.stream.Collectors;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The layers of the code, as rules. From the bottom up; every dependency between two top-level
 * packages points one way, upwards ({@link #noCyclesBetweenTheTopLevelPackages}):
 * <ul>
 *   <li><b>model</b>: shared utilities ({@code util}), the event model ({@code event}, with the
 *       first steps on raw records), segment memberships and updates ({@code segment}), privacy
 *       rules and the control topic's records ({@code privacy}).</li>
 *   <li><b>language</b>: the pattern language ({@code pattern}, {@code pattern.expr}: patterns,
 *       threshold segments, trait definitions, all read by {@code PatternLoader}) and what is built on
 *       it: computed traits ({@code trait}), experiments ({@code experiment}), the messaging policy
 *       ({@code policy}), identity stitching's links ({@code identity}).</li>
 *   <li><b>outputs</b> ({@code output}): the records the job writes, their one JSON contract, the dead
 *       letters of failed steps and the pseudonyms of the outputs; the operators make them, the
 *       connectors write them.</li>
 *   <li><b>job</b>: the operators with the pattern engine, the connectors and the pipeline
 *       ({@code ingest}, {@code profile}, {@code engine}, {@code action}, {@code reload},
 *       {@code metrics}, {@code config}, {@code sink}, the root package).</li>
 *   <li><b>tools</b>: {@code cli}, {@code local}, {@code replay}, {@code testkit}; they use the job,
 *       nothing in the job uses them. The applications beside the job, {@code deliver} (webhooks)
 *       and {@code serve} (the read API), stand at this level too ({@code deliver}'s demo receiver uses {@code local}).</li>
 *   <li><b>test fixtures</b> ({@code io.behaviorcep.testing..} and every class of the test sources,
 *       such as the Flink CEP reference operator): never used by main code, never in the cluster
 *       jar ({@code ClusterJarIT}).</li>
 * </ul>
 * The plain logic in these layers, listed in {@link #FLINK_RUNTIME_FREE_PACKAGES} and
 * {@link #FLINK_RUNTIME_FREE_CLASSES}, uses no Flink runtime, streaming or state API.
 *
 * <p>The root package (the pipeline, its {@code PipelineIO} and the production one, {@code KafkaIO},
 * and the cluster's entry point) is no slice of the cycle rule; {@link #onlyTheToolsUseThePipeline}
 * keeps it above everything but the tools.
 */
class LayeringTest {
    static final String ROOT = "io.behaviorcep";

    /**
     * Packages and classes free of the Flink runtime: what holds today, checked, not what is wished.
     * The rest of event, engine, privacy, profile and action are operators and stay out.
     */
    static final String[] FLINK_RUNTIME_FREE_PACKAGES = {ROOT + ".util..", ROOT + ".pattern..", ROOT + ".segment..", ROOT + ".trait..",
            ROOT + ".experiment..", ROOT + ".policy..", ROOT + ".identity..", ROOT + ".output.."};
    static final Set<String> FLINK_RUNTIME_FREE_CLASSES = Set.of(
            ROOT + ".event.BehaviorEvent", ROOT + ".event.EventParser", ROOT + ".event.RawRecord", ROOT + ".event.ParsedRecord",
            ROOT + ".engine.PatternEngine", ROOT + ".engine.CompiledPattern", ROOT + ".engine.FlinkCepInternals",
            ROOT + ".engine.StateGraph", ROOT + ".engine.Run", ROOT + ".engine.PathNode", ROOT + ".engine.PatternRuns",
            ROOT + ".privacy.PrivacyRules", ROOT + ".action.UserActions",
            ROOT + ".profile.ProfileState", ROOT + ".event.ProfileSnapshot", ROOT + ".profile.ThresholdEvaluator");
    static final String[] FLINK_RUNTIME = {"org.apache.flink.runtime..", "org.apache.flink.streaming..", "org.apache.flink.api.common.state.."};

    static final String[] TOOLS = {ROOT + ".cli..", ROOT + ".local..", ROOT + ".replay..", ROOT + ".testkit.."};
    static final String[] JOB_AND_CORE = {ROOT, ROOT + ".action..", ROOT + ".config..", ROOT + ".engine..", ROOT + ".event..",
            ROOT + ".metrics..", ROOT + ".pattern..", ROOT + ".privacy..", ROOT + ".profile..", ROOT + ".reload..",
            ROOT + ".segment..", ROOT + ".sink..", ROOT + ".trait..", ROOT + ".util..", ROOT + ".experiment..", ROOT + ".policy..", ROOT + ".identity..",
            ROOT + ".output..", ROOT + ".ingest.."};

    static JavaClasses main;
    static Set<String> testOnlyClasses;

    @BeforeAll
    static void importClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);
        testOnlyClasses = new ClassFileImporter().withImportOption(ImportOption.Predefined.ONLY_INCLUDE_TESTS).importPackages(ROOT)
                .stream().map(JavaClass::getName).collect(Collectors.toSet());
    }

    /** No cycles between the top-level packages: every dependency between two of them points one way. */
    @Test
    void noCyclesBetweenTheTopLevelPackages() {
        slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(main);
    }

    /** The pipeline (the root package) wires the job's packages; of them only the tools build on it. */
    @Test
    void onlyTheToolsUseThePipeline() {
        String[] below = java.util.Arrays.stream(JOB_AND_CORE).filter(p -> !p.equals(ROOT)).toArray(String[]::new);
        noClasses().that().resideInAnyPackage(below)
                .should().dependOnClassesThat().resideInAPackage(ROOT)
                .because("the pipeline and its wiring sit above the model, the language, the engine and the operators")
                .check(main);
    }

    @Test
    void theCoreLogicIsFreeOfTheFlinkRuntime() {
        noClasses().that().resideInAnyPackage(FLINK_RUNTIME_FREE_PACKAGES)
                .should().dependOnClassesThat().resideInAnyPackage(FLINK_RUNTIME)
                .because("the pattern language with its threshold segments, segment updates, traits, experiments, the messaging policy, identity links, the output records with their JSON and utilities are plain logic, testable without Flink")
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
