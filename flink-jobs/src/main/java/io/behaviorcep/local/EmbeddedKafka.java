package io.behaviorcep.local;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real Kafka broker inside this JVM, so that {@code local} and the integration tests exercise the
 * same client code, transactions and read_committed semantics as production without Docker.
 *
 * <p>It is one combined KRaft node (broker and controller). Every replication factor and minimum ISR
 * that defaults to 3 is lowered to 1, otherwise the first transactional producer or consumer group
 * would wait forever for replicas that do not exist.
 *
 * <p>The metadata version is the test kit's default, the newest the broker code knows (with
 * transaction protocol V2, as on any Kafka 4.x cluster); pinning a released one would need the
 * broker's internal classes at compile time, which this module only has at run time.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    /** A broker stuck in controlled shutdown must not keep {@code local} or a test run from ending. */
    private static final long CLOSE_TIMEOUT_MS = 30_000;

    private static final Map<String, String> SINGLE_NODE_CONFIG = Map.of(
            "transaction.state.log.replication.factor", "1",
            "transaction.state.log.min.isr", "1",
            "offsets.topic.replication.factor", "1",
            // one partition each: these internal topics are created on first use, and 50 partitions
            // would add seconds to the first consumer group or transaction
            "offsets.topic.num.partitions", "1",
            "transaction.state.log.num.partitions", "1",
            // a lone consumer should not wait 3 s for companions that never come
            "group.initial.rebalance.delay.ms", "0");

    private final KafkaClusterTestKit cluster;
    private final Path baseDir;
    private final String bootstrapServers;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedKafka(KafkaClusterTestKit cluster, Path baseDir) {
        this.cluster = cluster;
        this.baseDir = baseDir;
        this.bootstrapServers = cluster.bootstrapServers();
    }

    public static EmbeddedKafka start() {
        return start(Map.of());
    }

    /**
     * @param extraBrokerConfig broker properties that override the single-node defaults, e.g. a
     *     larger {@code transaction.max.timeout.ms} for a job whose transactions stay open longer
     */
    public static EmbeddedKafka start(Map<String, String> extraBrokerConfig) {
        long started = System.nanoTime();
        Path baseDir = createBaseDir();
        KafkaClusterTestKit cluster = null;
        try {
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .setBaseDirectory(baseDir)
                    .build();
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes).setDeleteOnClose(true);
            SINGLE_NODE_CONFIG.forEach(builder::setConfigProp);
            extraBrokerConfig.forEach(builder::setConfigProp);
            cluster = builder.build();
            rebindOnLoopback(cluster);
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            EmbeddedKafka kafka = new EmbeddedKafka(cluster, baseDir);
            LOG.info("Embedded Kafka ready at {} in {} ms (data in {})",
                    kafka.bootstrapServers, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), baseDir);
            return kafka;
        } catch (Exception e) {
            if (cluster != null) {
                closeQuietly(cluster);
            }
            deleteQuietly(baseDir);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("Could not start the embedded Kafka broker: " + e.getMessage(), e);
        }
    }

    /**
     * The test kit binds every listener's port when it builds the cluster, before any node starts,
     * and on every interface ({@code new InetSocketAddress(port)}), whatever host the listener names.
     * The broker and controller of `local` must not be reachable from other machines: each of those
     * sockets is bound again, on loopback and the same port, before a node takes it. The kit has no
     * setting for this, so its socket table is reached by reflection; if that ever fails, starting
     * fails rather than listening on every interface.
     */
    @SuppressWarnings("unchecked")
    private static void rebindOnLoopback(KafkaClusterTestKit cluster) throws Exception {
        java.lang.reflect.Field managerField = KafkaClusterTestKit.class.getDeclaredField("socketFactoryManager");
        managerField.setAccessible(true);
        Object manager = managerField.get(cluster);
        java.lang.reflect.Field socketsField = manager.getClass().getDeclaredField("sockets");
        socketsField.setAccessible(true);
        synchronized (manager) {
            Map<Integer, Map<String, ServerSocketChannel>> sockets = (Map<Integer, Map<String, ServerSocketChannel>>) socketsField.get(manager);
            for (Map<String, ServerSocketChannel> byListener : sockets.values()) {
                for (Map.Entry<String, ServerSocketChannel> e : byListener.entrySet()) {
                    ServerSocketChannel wildcard = e.getValue();
                    int port = ((InetSocketAddress) wildcard.getLocalAddress()).getPort();
                    wildcard.close();
                    // as Kafka's own server socket factory opens them: non-blocking, for the acceptor's selector
                    ServerSocketChannel loopback = ServerSocketChannel.open();
                    loopback.configureBlocking(false);
                    loopback.socket().setReuseAddress(true);
                    loopback.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                    e.setValue(loopback);
                }
            }
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * Creates the topic if it does not exist yet and waits until every partition has a leader, so a
     * producer started right after does not begin with a burst of UNKNOWN_TOPIC_OR_PARTITION retries.
     * An existing topic is left as it is, whatever its partition count or cleanup policy.
     */
    public void createTopic(String name, int partitions, boolean compacted) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            NewTopic topic = new NewTopic(name, Optional.of(partitions), Optional.empty())
                    .configs(Map.of("cleanup.policy", compacted ? "compact" : "delete"));
            try {
                admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
            awaitLeaders(admin, name);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("Could not create topic " + name + ": " + e.getMessage(), e);
        }
    }

    private static void awaitLeaders(Admin admin, String topic) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            TopicDescription d;
            try {
                d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            } catch (java.util.concurrent.ExecutionException e) {
                // right after creation the metadata may not know the topic yet
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) || System.nanoTime() > deadline) throw e;
                Thread.sleep(20);
                continue;
            }
            if (d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("partitions of " + topic + " have no leader after 30 s");
            }
            Thread.sleep(20);
        }
    }

    /**
     * Stops the broker (controlled shutdown; the KRaft controller of the combined node stays up) and
     * keeps its data, for tests of a broker outage: clients see connections refused until
     * {@link #startBroker()}. Through reflection, since the broker's classes are only on the run-time
     * classpath (see the class comment).
     */
    public void stopBroker() {
        for (Object broker : brokers()) invoke(broker, "shutdown");
        for (Object broker : brokers()) invoke(broker, "awaitShutdown");
    }

    /**
     * Starts the broker stopped by {@link #stopBroker()} again, on the same port and log directories
     * (the test kit re-binds the port it reserved), and waits until the controller sees it and its
     * metadata is current.
     */
    public void startBroker() {
        for (Object broker : brokers()) invoke(broker, "startup");
        try {
            cluster.waitForReadyBrokers();
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new IllegalStateException("the restarted broker did not become ready: " + e.getMessage(), e);
        }
    }

    private java.util.Collection<?> brokers() {
        try {
            return ((Map<?, ?>) KafkaClusterTestKit.class.getMethod("brokers").invoke(cluster)).values();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot reach the test kit's brokers", e);
        }
    }

    private static void invoke(Object target, String method) {
        try {
            target.getClass().getMethod(method).invoke(target);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IllegalStateException(method + " of the broker failed: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the broker has no " + method + "()", e);
        }
    }

    /**
     * Stops the broker and deletes its data. Bounded in time: if the broker does not stop within
     * {@value #CLOSE_TIMEOUT_MS} ms the data is deleted anyway and the broker threads are left to die
     * with the JVM, which is the lesser evil for a throwaway local broker.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long started = System.nanoTime();
        Thread closer = new Thread(() -> closeQuietly(cluster), "embedded-kafka-close");
        closer.setDaemon(true);
        closer.start();
        try {
            closer.join(CLOSE_TIMEOUT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (closer.isAlive()) {
            LOG.warn("Embedded Kafka did not stop within {} ms; deleting its data anyway", CLOSE_TIMEOUT_MS);
        }
        deleteQuietly(baseDir);
        LOG.info("Embedded Kafka stopped in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }

    private static Path createBaseDir() {
        try {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(tmp);
            return Files.createTempDirectory(tmp, "behavior-cep-kafka-");
        } catch (IOException e) {
            throw new IllegalStateException("Could not create the Kafka data directory: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(KafkaClusterTestKit cluster) {
        try {
            cluster.close();
        } catch (Exception e) {
            LOG.warn("Embedded Kafka did not shut down cleanly", e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            LOG.warn("Could not delete {}", dir, e);
        }
    }
}
