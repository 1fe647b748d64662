package io.behaviorcep.deliver;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WebhookSignatureTest {
    private static final byte[] SECRET = "whsec_test".getBytes(StandardCharsets.UTF_8);
    private static final byte[] BODY = "{\"alert_id\":\"abc\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void headerIsTimestampAndHexHmacOfTimestampDotBody() {
        // the value a receiver computes independently: HMAC-SHA256("whsec_test", "1764900000.{\"alert_id\":\"abc\"}"),
        // e.g. printf '%s' '1764900000.{"alert_id":"abc"}' | openssl dgst -sha256 -hmac whsec_test
        assertThat(WebhookSignature.header(SECRET, 1764900000L, BODY))
                .isEqualTo("t=1764900000,v1=" + hmacHex("1764900000.{\"alert_id\":\"abc\"}"));
    }

    @Test
    void receiverAcceptsTheGenuineRequestAndRefusesTamperingOtherSecretsAndOldTimestamps() {
        String h = WebhookSignature.header(SECRET, 1000, BODY);
        assertThat(WebhookSignature.verify(SECRET, h, BODY, 1000, 300)).isTrue();
        assertThat(WebhookSignature.verify(SECRET, h, BODY, 1299, 300)).isTrue();
        assertThat(WebhookSignature.verify(SECRET, h, BODY, 1301, 300)).as("replayed too late").isFalse();
        assertThat(WebhookSignature.verify(SECRET, h, "{\"alert_id\":\"abd\"}".getBytes(StandardCharsets.UTF_8), 1000, 300)).isFalse();
        assertThat(WebhookSignature.verify("other".getBytes(StandardCharsets.UTF_8), h, BODY, 1000, 300)).isFalse();
        assertThat(WebhookSignature.verify(SECRET, h.replace("t=1000", "t=1001"), BODY, 1000, 300)).as("timestamp is signed").isFalse();
        assertThat(WebhookSignature.verify(SECRET, null, BODY, 1000, 300)).isFalse();
        assertThat(WebhookSignature.verify(SECRET, "v1=00", BODY, 1000, 300)).isFalse();
        assertThat(WebhookSignature.verify(SECRET, "t=x,v1=00", BODY, 1000, 300)).isFalse();
    }

    @Test
    void headerTemplatesResolveFromTheEnvironmentAndNameWhatIsMissingButNoValue() {
        Map<String, String> env = Map.of("CRM_TOKEN", "s3cret", "TENANT", "acme");
        assertThat(HeaderTemplates.resolve("crm", Map.of("Authorization", "Bearer ${CRM_TOKEN}", "X-Tenant", "${TENANT}-eu", "X-Plain", "v"),
                env::get)).containsEntry("Authorization", "Bearer s3cret").containsEntry("X-Tenant", "acme-eu").containsEntry("X-Plain", "v");
        assertThat(HeaderTemplates.references("a ${X} b ${Y_2}")).containsExactly("X", "Y_2");
        assertThatThrownBy(() -> HeaderTemplates.resolve("crm", Map.of("Authorization", "Bearer ${NOPE}"), env::get))
                .hasMessageContaining("NOPE (header Authorization)").hasMessageNotContaining("s3cret");
        // a value holding '$' or '\' is inserted as is, not read as a regex group reference
        assertThat(HeaderTemplates.resolve("crm", Map.of("X", "${T}"), n -> "a$1\\b")).containsEntry("X", "a$1\\b");
    }

    @Test
    void rateLimiterSpacesRequestsAndAllowsAtMostOneSecondsBurstAfterQuiet() {
        long s = 1_000_000_000L;
        RateLimiter limiter = new RateLimiter(10, 0);
        // at start: a second's worth is not banked, requests are spaced 100 ms
        assertThat(limiter.reserve(0)).isZero();
        assertThat(limiter.reserve(0)).isEqualTo(s / 10);
        assertThat(limiter.reserve(0)).isEqualTo(2 * s / 10);
        // after an hour of quiet, 10 go at once, the 11th waits
        long later = 3600 * s;
        for (int i = 0; i < 10; i++) assertThat(limiter.reserve(later)).isZero();
        assertThat(limiter.reserve(later)).isEqualTo(s / 10);
        RateLimiter unlimited = new RateLimiter(0, 0);
        for (int i = 0; i < 1000; i++) assertThat(unlimited.reserve(0)).isZero();
    }

    private static String hmacHex(String data) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(SECRET, "HmacSHA256"));
            return java.util.HexFormat.of().formatHex(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
