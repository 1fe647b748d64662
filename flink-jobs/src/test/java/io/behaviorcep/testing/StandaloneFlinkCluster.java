package io.behaviorcep.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Flink standalone session cluster in processes of its own, started the way Flink's scripts start
 * one from a distribution: a JobManager JVM ({@code StandaloneSessionClusterEntrypoint}), TaskManager
 * JVMs ({@code TaskManagerRunner}) and the CLI ({@code CliFrontend}), with {@code lib/*} as their only
 * classpath, {@code conf/config.yaml}, the memory options the scripts compute (Flink's own
 * {@code BashJavaUtils}) and the JDK 17 options of the distribution's {@code env.java.opts.all}.
 *
 * <p>Everything lives under one directory ({@code conf/}, {@code log/}, {@code plugins/}, checkpoints),
 * which stays after the test for reading the logs.
 */
public final class StandaloneFlinkCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The distribution's default {@code env.java.opts.all}: without them Flink's reflection fails on JDK 17. */
    private static final List<String> JDK17_OPTIONS = List.of(
            "-XX:+IgnoreUnrecognizedVMOptions",
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
            "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.text=ALL-UNNAMED",
            "--add-opens=java.base/java.time=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    private static final String LOG4J = """
            rootLogger.level = INFO
            rootLogger.appenderRef.file.ref = MainAppender
            appender.main.name = MainAppender
            appender.main.type = File
            appender.main.append = true
            appender.main.fileName = ${sys:log.file}
            appender.main.layout.type = PatternLayout
            appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-50c{1.} [%t] - %m%n
            # the Kafka clients log every configuration at INFO, for every producer of every checkpoint
            logger.kafka.name = org.apache.kafka
            logger.kafka.level = WARN
            logger.behaviorcep.name = io.behaviorcep
            logger.behaviorcep.level = INFO
            """;

    private final Path home;
    private final Path lib;
    private final Path conf;
    private final Path logs;
    private final int restPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private int taskManagers;

    /**
     * Writes {@code conf/config.yaml} (the given settings on top of addresses, ports and directories)
     * and the log configuration; starts nothing.
     *
     * @param home an empty or missing directory
     * @param lib the cluster's {@code lib/} folder
     */
    public StandaloneFlinkCluster(Path home, Path lib, Map<String, String> settings) throws IOException {
        this.home = home.toAbsolutePath();
        this.lib = lib.toAbsolutePath();
        if (!Files.isDirectory(this.lib) || !Files.isRegularFile(this.lib.resolve("flink-runtime-" + version() + ".jar"))) {
            throw new IllegalStateException("no Flink " + version() + " lib/ at " + this.lib
                    + " (collected by `mvn verify` before the integration tests: execution flink-cluster-lib of flink-jobs/pom.xml)");
        }
        this.conf = this.home.resolve("conf");
        this.logs = this.home.resolve("log");
        Files.createDirectories(conf);
        Files.createDirectories(logs);
        Files.createDirectories(this.home.resolve("plugins"));
        Files.createDirectories(this.home.resolve("tmp"));
        restPort = freePort();
        Map<String, String> c = new LinkedHashMap<>();
        c.put("jobmanager.rpc.address", "127.0.0.1");
        c.put("jobmanager.rpc.port", Integer.toString(freePort()));
        c.put("jobmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.host", "127.0.0.1");
        c.put("rest.address", "127.0.0.1");
        c.put("rest.bind-address", "127.0.0.1");
        c.put("rest.port", Integer.toString(restPort));
        c.put("io.tmp.dirs", this.home.resolve("tmp").toString());
        c.putAll(settings);
        StringBuilder yaml = new StringBuilder();
        c.forEach((k, v) -> yaml.append(k).append(": ").append(quote(v)).append('\n'));
        Files.writeString(conf.resolve("config.yaml"), yaml);
        Files.writeString(conf.resolve("log4j.properties"), LOG4J);
    }

    private static String quote(String v) {
        return "'" + v.replace("'", "''") + "'";
    }

    public static String version() {
        return org.apache.flink.runtime.util.EnvironmentInformation.getVersion();
    }

    public Path home() {
        return home;
    }

    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts the JobManager; returns without waiting for it. */
    public void startJobManager() throws Exception {
        List<String> memory = resourceParams("GET_JM_RESOURCE_PARAMS");
        List<String> args = new ArrayList<>(List.of("--configDir", conf.toString(), "--executionMode", "cluster"));
        args.addAll(Arrays.asList(memory.get(1).trim().split("\\s+")));
        start("jobmanager", jvmOptions(memory.get(0)), "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", args, Map.of());
    }

    /**
     * Starts a TaskManager with these environment variables on top of this JVM's; returns its name
     * (taskmanager-1, -2, ...) without waiting for it to register.
     */
    public String startTaskManager(Map<String, String> environment) throws Exception {
        List<String> memory = resourceParams("GET_TM_RESOURCE_PARAMS");
        List<String> args = new ArrayList<>(List.of("--configDir", conf.toString()));
        args.addAll(Arrays.asList(memory.get(1).trim().split("\\s+")));
        String name = "taskmanager-" + ++taskManagers;
        start(name, jvmOptions(memory.get(0)), "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", args, environment);
        return name;
    }

    /** kill -9: no shutdown hook runs, nothing is flushed or cancelled; returns once the process is gone. */
    public void kill(String name) throws Exception {
        Process p = processes.get(name);
        p.destroyForcibly(); // SIGKILL on Linux
        if (!p.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException(name + " survived SIGKILL");
    }

    public long pid(String name) {
        return processes.get(name).pid();
    }

    public boolean alive(String name) {
        return processes.get(name).isAlive();
    }

    /**
     * {@code flink run -d -c mainClass jar args...} with the real CLI and {@code FLINK_CONF_DIR};
     * returns the job id it prints.
     */
    public String submit(Path jar, String mainClass, List<String> jobArgs, Duration timeout) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "-d", "-c", mainClass, jar.toAbsolutePath().toString()));
        args.addAll(jobArgs);
        List<String> jvm = new ArrayList<>(JDK17_OPTIONS);
        jvm.add("-Xmx512m");
        Process cli = start("cli", jvm, "org.apache.flink.client.cli.CliFrontend", args, Map.of());
        if (!cli.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            cli.destroyForcibly();
            throw new AssertionError("flink run did not return within " + timeout + ":\n" + Files.readString(logs.resolve("cli.out")));
        }
        String out = Files.readString(logs.resolve("cli.out"));
        Matcher m = Pattern.compile("Job has been submitted with JobID ([0-9a-f]{32})").matcher(out);
        if (cli.exitValue() != 0 || !m.find()) {
            throw new AssertionError("flink run exited with " + cli.exitValue() + ":\n" + out);
        }
        return m.group(1);
    }

    /** Runs the JVM and main class of Flink's scripts and returns {JVM options, dynamic -D arguments}. */
    private List<String> resourceParams(String command) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.add("-cp");
        cmd.add(lib + "/*");
        cmd.add("-Dlog4j2.level=WARN");
        cmd.add("org.apache.flink.runtime.util.bash.BashJavaUtils");
        cmd.add(command);
        cmd.add("--configDir");
        cmd.add(conf.toString());
        Path out = logs.resolve("bash-java-utils-" + command + ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("BashJavaUtils " + command + " hung");
        }
        List<String> results = Files.readAllLines(out).stream()
                .filter(l -> l.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:"))
                .map(l -> l.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length())).toList();
        if (p.exitValue() != 0 || results.size() < 2) {
            throw new IllegalStateException("BashJavaUtils " + command + " failed:\n" + Files.readString(out));
        }
        return results.subList(results.size() - 2, results.size());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static List<String> jvmOptions(String memoryOptions) {
        List<String> o = new ArrayList<>(Arrays.asList(memoryOptions.trim().split("\\s+")));
        o.addAll(JDK17_OPTIONS);
        return o;
    }

    private Process start(String name, List<String> jvmOptions, String mainClass, List<String> args, Map<String, String> environment)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(jvmOptions);
        cmd.add("-Dlog.file=" + logs.resolve(name + ".log"));
        cmd.add("-Dlog4j.configurationFile=file:" + conf.resolve("log4j.properties"));
        cmd.add("-cp");
        cmd.add(lib + "/*");
        cmd.add(mainClass);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + ".out").toFile());
        Map<String, String> env = pb.environment();
        // nothing of the test JVM's environment that a cluster would not have
        env.keySet().removeIf(k -> k.startsWith("FLINK_") || k.startsWith("BEHAVIOR_CEP_") || k.equals("CLASSPATH")
                || k.equals("JAVA_TOOL_OPTIONS"));
        env.put("FLINK_CONF_DIR", conf.toString());
        env.put("FLINK_LIB_DIR", lib.toString());
        env.put("FLINK_PLUGINS_DIR", home.resolve("plugins").toString());
        env.putAll(environment);
        Files.writeString(logs.resolve(name + ".cmd"), String.join(" ", cmd) + "\n");
        Process p = pb.start();
        processes.put(name, p);
        return p;
    }

    /** GET on the REST API. */
    public JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(restUrl() + path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IOException("GET " + path + ": HTTP " + r.statusCode() + " " + r.body());
        return JSON.readTree(r.body());
    }

    /** Cancels a job through the REST API; no wait. */
    public void cancel(String jobId) throws Exception {
        http.send(HttpRequest.newBuilder(URI.create(restUrl() + "/jobs/" + jobId + "?mode=cancel"))
                .timeout(Duration.ofSeconds(10)).method("PATCH", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until the JobManager answers and {@code slots} task slots are registered in all. */
    public JsonNode awaitSlots(int slots, Duration timeout) {
        return Await.until(slots + " task slots registered at " + restUrl(), timeout, () -> {
            for (Map.Entry<String, Process> e : processes.entrySet()) {
                if (!e.getKey().equals("cli") && !e.getValue().isAlive() && !killed(e.getKey())) {
                    throw new IllegalStateException(e.getKey() + " exited with " + e.getValue().exitValue());
                }
            }
            return get("/overview");
        }, o -> o.path("slots-total").asInt() >= slots);
    }

    private boolean killed(String name) {
        return name.startsWith("taskmanager-") && Integer.parseInt(name.substring("taskmanager-".length())) < taskManagers;
    }

    /** The last lines of every log and output file, for a failed test. */
    public void printLogs(int linesPerFile) {
        System.out.println("==== logs of the standalone cluster in " + logs + " ====");
        try (Stream<Path> files = Files.list(logs)) {
            for (Path f : files.sorted(Comparator.comparing(Path::toString)).toList()) {
                // the processes' own logs and output; RocksDB writes its LOG files here too, which say nothing useful
                if (!f.toString().endsWith(".log") && !f.toString().endsWith(".out")) continue;
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                System.out.println("---- " + f.getFileName() + " (" + lines.size() + " lines; the last " + Math.min(linesPerFile, lines.size()) + ") ----");
                lines.subList(Math.max(0, lines.size() - linesPerFile), lines.size()).forEach(System.out::println);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops every process that is still running (SIGTERM, then SIGKILL after 10 s) and waits until they are gone. */
    @Override
    public void close() throws Exception {
        for (Process p : processes.values()) p.destroy();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Process p : processes.values()) {
            if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) p.destroyForcibly();
        }
        for (Process p : processes.values()) p.waitFor(30, TimeUnit.SECONDS);
    }
}
