package io.behaviorcep.deliver;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The {@code Behavior-Cep-Signature} header, Stripe-style: {@code t=<unix seconds>,v1=<hex HMAC-SHA256>}
 * with the destination's signing secret over {@code "<t>." + body}. The timestamp is signed with the
 * body, so a receiver that refuses old timestamps (5 minutes, say) also refuses a captured request
 * replayed later. See docs/contracts.md, "Webhook requests", for how a receiver verifies it.
 */
public final class WebhookSignature {
    public static final String HEADER = "Behavior-Cep-Signature";

    private WebhookSignature() {}

    public static String header(byte[] secret, long unixSeconds, byte[] body) {
        return "t=" + unixSeconds + ",v1=" + HexFormat.of().formatHex(hmac(secret, unixSeconds, body));
    }

    /**
     * What a receiver does: the header's {@code v1} equals the HMAC of {@code t.body} (compared in constant
     * time) and {@code t} is within {@code toleranceSeconds} of its clock.
     */
    public static boolean verify(byte[] secret, String header, byte[] body, long nowUnixSeconds, long toleranceSeconds) {
        if (header == null) return false;
        Long t = null;
        String v1 = null;
        for (String part : header.split(",")) {
            String p = part.trim();
            if (p.startsWith("t=")) {
                try {
                    t = Long.parseLong(p.substring(2));
                } catch (NumberFormatException e) {
                    return false;
                }
            } else if (p.startsWith("v1=")) {
                v1 = p.substring(3);
            }
        }
        if (t == null || v1 == null || Math.abs(nowUnixSeconds - t) > toleranceSeconds) return false;
        byte[] expected = HexFormat.of().formatHex(hmac(secret, t, body)).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, v1.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] hmac(byte[] secret, long unixSeconds, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update((unixSeconds + ".").getBytes(StandardCharsets.US_ASCII));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
