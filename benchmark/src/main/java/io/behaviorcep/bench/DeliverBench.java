package io.behaviorcep.bench;

import io.behaviorcep.deliver.AlertToDeliver;
import io.behaviorcep.deliver.DeliveryOutcome;
import io.behaviorcep.deliver.Destination;
import io.behaviorcep.deliver.RetryPolicy;
import io.behaviorcep.deliver.WebhookDeliveryFunction;
import io.behaviorcep.deliver.WebhookSender;

import com.sun.net.httpserver.HttpServer;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Webhook deliveries per second against a receiver in the same process (the JDK's HttpServer,
 * answering 200 at once), so the figure is the delivery side's own cost: signing, HttpClient, and
 * Flink's async operator. Not the cost of a real network or receiver.
 *
 * <pre>java -cp benchmark/target/behavior-cep-bench.jar io.behaviorcep.bench.DeliverBench [alerts] [runs]</pre>
 */
public final class DeliverBench {
    private static final String SECRET_ENV = "BEHAVIOR_CEP_BENCH_SIGNING_SECRET";

    public static void main(String[] args) throws Exception {
        int alerts = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        System.setProperty(SECRET_ENV, "bench-secret");
        // the JDK server leaves Nagle's algorithm on by default: with delayed ACKs every small
        // response then waits ~40 ms on loopback, which would measure the TCP stack, not delivery
        System.setProperty("sun.net.httpserver.nodelay", "true");
        AtomicLong received = new AtomicLong();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/hook", x -> {
            x.getRequestBody().readAllBytes();
            received.incrementAndGet();
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
        List<AlertToDeliver> input = alerts(alerts);
        System.out.printf("%d alerts of %d bytes, receiver in process, %d cores%n", alerts, input.get(0).value().length,
                Runtime.getRuntime().availableProcessors());
        try {
            for (int inFlight : new int[] {1, 16, 64, 256}) {
                double best = 0;
                for (int r = 0; r <= runs; r++) {
                    double rate = senderAlone(destination(url, inFlight), input.subList(0, Math.min(input.size(), 500 * inFlight)), inFlight);
                    if (r > 0) best = Math.max(best, rate); // the first run warms up
                }
                System.out.printf("sender alone,        %3d in flight: %,8.0f deliveries/s (best of %d, %d alerts)%n", inFlight, best, runs,
                        Math.min(input.size(), 500 * inFlight));
            }
            for (int capacity : new int[] {16, 100, 256}) {
                double best = 0;
                for (int r = 0; r <= runs; r++) {
                    double rate = flinkOperator(destination(url, capacity), input);
                    if (r > 0) best = Math.max(best, rate);
                }
                System.out.printf("Flink async operator, capacity %3d: %,8.0f deliveries/s (best of %d, parallelism 1, job start included)%n",
                        capacity, best, runs);
            }
        } finally {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        }
    }

    private static Destination destination(String url, int capacity) {
        return new Destination("bench", url, Set.of(), Set.of(), Map.of(), SECRET_ENV, Duration.ofSeconds(10), 0, capacity,
                RetryPolicy.DEFAULT);
    }

    private static double senderAlone(Destination d, List<AlertToDeliver> input, int inFlight) throws Exception {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        HttpClient client = WebhookSender.newClient(Duration.ofSeconds(10));
        WebhookSender sender = new WebhookSender(d, Map.of(), "bench-secret".getBytes(StandardCharsets.UTF_8), client, scheduler, 0);
        Semaphore window = new Semaphore(inFlight);
        AtomicLong delivered = new AtomicLong();
        long t0 = System.nanoTime();
        for (AlertToDeliver a : input) {
            window.acquire();
            sender.deliver(a).whenComplete((o, e) -> {
                if (o != null && o.delivered()) delivered.incrementAndGet();
                window.release();
            });
        }
        window.acquire(inFlight);
        double seconds = (System.nanoTime() - t0) / 1e9;
        scheduler.shutdownNow();
        if (delivered.get() != input.size()) throw new IllegalStateException("delivered " + delivered.get() + " of " + input.size());
        return input.size() / seconds;
    }

    private static double flinkOperator(Destination d, List<AlertToDeliver> input) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
        DataStream<AlertToDeliver> alerts = env.fromData(input, TypeInformation.of(AlertToDeliver.class));
        DataStream<DeliveryOutcome> outcomes = AsyncDataStream.unorderedWait(alerts, new WebhookDeliveryFunction(d), 60, TimeUnit.SECONDS, d.capacity());
        outcomes.filter(o -> {
            if (!o.delivered()) throw new IllegalStateException("not delivered: " + o);
            return false;
        }).sinkTo(new DiscardingSink<>());
        long t0 = System.nanoTime();
        env.execute("deliver bench");
        return input.size() / ((System.nanoTime() - t0) / 1e9);
    }

    /** Alerts the size of the main job's (about 1.4 KB: ids, matched events, payload, the profile). */
    private static List<AlertToDeliver> alerts(int n) {
        StringBuilder profile = new StringBuilder();
        for (int i = 0; i < 40; i++) profile.append(i == 0 ? "" : ",").append("\"field_").append(i).append("\":").append(i * 7);
        List<AlertToDeliver> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String id = String.format("%032x", i);
            String json = "{\"alert_id\":\"" + id + "\",\"pattern_id\":\"cart-abandonment\",\"pattern_version\":1,\"alert_type\":\"cart_abandoned\","
                    + "\"severity\":\"medium\",\"user_id\":\"user-" + i + "\",\"detected_at\":\"2026-11-21T04:54:37.359Z\",\"matched\":{\"viewed\":"
                    + "[{\"message_id\":\"38c5ba73-5d2c-4b8e-9d33-" + id.substring(20) + "\",\"timestamp\":\"2026-11-21T04:39:28.359Z\"}]},"
                    + "\"payload\":{\"price\":59.99,\"product_id\":\"prod-0377\",\"product_name\":\"Eco Chronograph\"},\"profile\":{" + profile + "}}";
            out.add(AlertToDeliver.of(("user-" + i).getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8), "bench", 0, i));
        }
        return out;
    }
}
