package io.behaviorcep.replay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * What one input line is. Replay reads Segment-spec JSON lines as they are; the two public
 * e-commerce log layouts it also knows are turned into Segment-spec {@code track} events on the
 * fly, so recorded history from those shops replays without a conversion step.
 *
 * <p>Converted events get a deterministic {@code messageId}: the format's prefix and the first 128
 * bits (hex) of SHA-256 over the line (without its line break). The same row always gives the same
 * id, whatever its position in the file, so identical rows are duplicates (deduplicated as in
 * streaming) and a shuffled file replays to the same result.
 *
 * <p>A line that cannot be converted (wrong column count, bad number) is passed on as it is: the
 * parser refuses it as {@code NOT_JSON} and it lands in the dead letters with its original bytes.
 */
public enum EventLogFormat {
    /** Segment-spec JSON, one event per line: passed to the job's parser untouched. */
    SEGMENT,
    /**
     * REES46 multi-category store (Kaggle): {@code event_time,event_type,product_id,category_id,
     * category_code,brand,price,user_id,user_session} with a header line.
     * view → Product Viewed, cart → Product Added, remove_from_cart → Product Removed,
     * purchase → Order Completed.
     */
    REES46,
    /**
     * Taobao UserBehavior (Alibaba Tianchi): {@code user_id,item_id,category_id,behavior,unix_ts_seconds},
     * no header. pv → Product Viewed, cart → Product Added, fav → Product Added to Wishlist,
     * buy → Order Completed.
     */
    TAOBAO;

    private static final ObjectMapper M = new ObjectMapper();

    static final Map<String, String> REES46_EVENTS = Map.of(
            "view", "Product Viewed", "cart", "Product Added", "remove_from_cart", "Product Removed", "purchase", "Order Completed");
    static final Map<String, String> TAOBAO_EVENTS = Map.of(
            "pv", "Product Viewed", "cart", "Product Added", "fav", "Product Added to Wishlist", "buy", "Order Completed");

    public static EventLogFormat parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown events format '" + s + "': segment, rees46 or taobao");
        }
    }

    /**
     * The record the job gets for this line: Segment JSON bytes, the line itself when it cannot be
     * converted (so the dead letter keeps the original), or null for a line that is no event at all
     * (blank, or a CSV header).
     */
    public byte[] toRecord(byte[] line) {
        if (isBlank(line)) return null;
        if (this == SEGMENT) return line;
        String text = new String(line, StandardCharsets.UTF_8);
        try {
            ObjectNode event = this == REES46 ? rees46(text) : taobao(text);
            return event == null ? null : event.toString().getBytes(StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            return line;
        }
    }

    private static ObjectNode rees46(String line) {
        if (line.startsWith("event_time,")) return null;
        String[] f = line.split(",", -1);
        if (f.length != 9) throw new IllegalArgumentException("expected 9 columns");
        String time = f[0].trim();
        if (!time.endsWith(" UTC")) throw new IllegalArgumentException("event_time is not UTC");
        String iso = time.substring(0, time.length() - 4).replace(' ', 'T') + "Z";
        ObjectNode e = track("rees46", line, REES46_EVENTS.getOrDefault(f[1], f[1]), f[7], iso);
        ObjectNode p = (ObjectNode) e.get("properties");
        p.put("product_id", f[2]);
        p.put("category_id", f[3]);
        if (!f[4].isEmpty()) p.put("category", f[4]);
        if (!f[5].isEmpty()) p.put("brand", f[5]);
        if (!f[6].isEmpty()) {
            double price = Double.parseDouble(f[6]);
            p.put("price", price);
            if ("purchase".equals(f[1])) p.put("revenue", price);
        }
        if (!f[8].isEmpty()) e.putObject("context").put("session_id", f[8]);
        return e;
    }

    private static ObjectNode taobao(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 5) throw new IllegalArgumentException("expected 5 columns");
        String iso = Instant.ofEpochSecond(Long.parseLong(f[4].trim())).toString();
        ObjectNode e = track("taobao", line, TAOBAO_EVENTS.getOrDefault(f[3], f[3]), f[0], iso);
        ObjectNode p = (ObjectNode) e.get("properties");
        p.put("product_id", f[1]);
        p.put("category_id", f[2]);
        return e;
    }

    private static ObjectNode track(String prefix, String line, String event, String user, String isoTime) {
        if (user.isBlank()) throw new IllegalArgumentException("no user");
        ObjectNode e = M.createObjectNode();
        e.put("type", "track");
        e.put("event", event);
        e.put("messageId", messageId(prefix, line));
        e.put("userId", user);
        e.put("timestamp", isoTime);
        e.putObject("properties");
        return e;
    }

    /** {@code prefix-} and the first 128 bits (hex) of SHA-256 over the line's UTF-8 bytes. */
    static String messageId(String prefix, String line) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(line.getBytes(StandardCharsets.UTF_8));
            return prefix + "-" + HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) if (b != ' ' && b != '\t' && b != '\r' && b != '\n') return false;
        return true;
    }
}
