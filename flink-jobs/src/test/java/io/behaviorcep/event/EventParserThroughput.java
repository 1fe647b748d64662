package io.behaviorcep.event;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Random;

/**
 * A rough, JMH-free look at parse throughput, streaming against the old tree parser, on events
 * shaped like the benchmark's traffic. Not a test (nothing here is asserted): run by hand,
 * {@code java -cp <test classpath> io.behaviorcep.event.EventParserThroughput [parses]}.
 */
public final class EventParserThroughput {
    private static final String[] NAMES = {"Product Viewed", "Product Added", "Order Completed", "Products Searched", "Home"};

    public static void main(String[] args) {
        int parses = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        RawRecord[] records = events(4096, new Random(1));
        EventParser fast = new EventParser(EventParser.Limits.defaults());
        TreeEventParser tree = new TreeEventParser(EventParser.Limits.defaults());
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        for (int round = 0; round < rounds; round++) { // the first rounds warm up
            long t0 = System.nanoTime();
            long ok = 0;
            for (int i = 0; i < parses; i++) if (tree.parse(records[i & 4095]).ok()) ok++;
            long t1 = System.nanoTime();
            for (int i = 0; i < parses; i++) if (fast.parse(records[i & 4095]).ok()) ok++;
            long t2 = System.nanoTime();
            if (ok != 2L * parses) throw new IllegalStateException("some events were refused");
            System.out.printf("round %d: tree %,.0f parses/s (%.2f us each), streaming %,.0f parses/s (%.2f us each), %.1fx%n", round,
                    parses / ((t1 - t0) / 1e9), (t1 - t0) / 1e3 / parses, parses / ((t2 - t1) / 1e9), (t2 - t1) / 1e3 / parses,
                    (double) (t1 - t0) / (t2 - t1));
        }
    }

    /** Like the benchmark's Traffic: a product, order or page event with a small context. */
    static RawRecord[] events(int n, Random r) {
        RawRecord[] out = new RawRecord[n];
        long t = Instant.parse("2025-01-06T07:59:56.193Z").toEpochMilli();
        for (int i = 0; i < n; i++) {
            String name = NAMES[r.nextInt(NAMES.length)];
            boolean track = !name.equals("Home");
            int p = r.nextInt(500);
            StringBuilder b = new StringBuilder(480);
            b.append("{\"type\":\"").append(track ? "track" : "page").append("\",")
                    .append(track ? "\"event\":\"" : "\"name\":\"").append(name).append("\",")
                    .append("\"messageId\":\"m-").append(i).append("\",\"userId\":\"u").append(r.nextInt(10_000))
                    .append("\",\"anonymousId\":\"a").append(Integer.toHexString(r.nextInt())).append("\",")
                    .append("\"timestamp\":\"").append(Instant.ofEpochMilli(t + i * 137L)).append("\",\"properties\":{");
            if (name.startsWith("Product")) {
                b.append("\"product_id\":\"p").append(p).append("\",\"sku\":\"SKU-").append(10_000 + p)
                        .append("\",\"category\":\"Kitchen\",\"name\":\"Product ").append(p).append("\",\"price\":")
                        .append(5 + (p * 37 % 19_500) / 100.0).append(",\"currency\":\"USD\"");
                if (name.equals("Product Added")) b.append(",\"quantity\":").append(1 + r.nextInt(3));
            } else if (name.equals("Order Completed")) {
                b.append("\"order_id\":\"o").append(i).append("\",\"revenue\":").append(10 + r.nextInt(300))
                        .append(",\"products\":[{\"product_id\":\"p").append(p).append("\",\"price\":12.5},{\"product_id\":\"p")
                        .append(p + 1).append("\",\"price\":3}]");
            } else {
                b.append("\"path\":\"/home\",\"url\":\"https://shop.example/home\",\"title\":\"Home | Example Shop\"");
            }
            b.append("},\"context\":{\"library\":{\"name\":\"analytics.js\",\"version\":\"4.1.0\"},")
                    .append("\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\",\"locale\":\"en-US\"}}");
            out[i] = RawRecord.of(b.toString().getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }
}
