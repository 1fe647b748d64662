package io.behaviorcep.output;

import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;

/**
 * Replaces the user id in outputs by HMAC-SHA256(key, user id) in lower-case hex
 * ({@code privacy.pseudonymize}). The key is read on the task manager, in {@code open}, from the
 * environment variable named by {@code privacy.pseudonym-key-env} (a JVM system property of that
 * name is accepted too, for local runs and tests); it never travels in the job graph. Without a key
 * the operator fails to start rather than write raw ids.
 *
 * <p>Ids derived from the user id are keyed too: an alert's {@code alert_id} ({@link #alertId(String)}),
 * a segment update's {@code event_id} (made of the pseudonym).
 *
 * <p>The same id always maps to the same pseudonym, so keys, deduplication, {@code user_segments}
 * upserts and erasures work unchanged on pseudonyms; whoever holds the key can compute a user's
 * pseudonym to look them up ({@link #pseudonym(byte[], String)}).
 */
public abstract class Pseudonymizer<T> extends RichMapFunction<T, T> {
    private static final long serialVersionUID = 1L;

    private final String keyEnv;
    private transient Mac mac;

    Pseudonymizer(String keyEnv) {
        this.keyEnv = keyEnv;
    }

    public static Pseudonymizer<Alert> alerts(String keyEnv) {
        return new Pseudonymizer<>(keyEnv) {
            @Override
            public Alert map(Alert a) {
                a.alertId = alertId(a.alertId);
                a.userId = pseudonym(a.userId);
                return a;
            }
        };
    }

    /** Outcomes as alerts: the decision id is the alert's id, pseudonymised the same way. */
    public static Pseudonymizer<io.behaviorcep.experiment.Outcome> outcomes(String keyEnv) {
        return new Pseudonymizer<>(keyEnv) {
            @Override
            public io.behaviorcep.experiment.Outcome map(io.behaviorcep.experiment.Outcome o) {
                return new io.behaviorcep.experiment.Outcome(alertId(o.decisionId()), pseudonym(o.userId()), o.patternId(),
                        o.patternVersion(), o.experimentId(), o.arm(), o.holdout(), o.decidedAt(), o.goalEvent(), o.goalWithinMs(),
                        o.converted(), o.convertedAt(), o.value(), o.timeToConvertMs());
            }
        };
    }

    public static Pseudonymizer<SegmentUpdate> segmentUpdates(String keyEnv) {
        return new Pseudonymizer<>(keyEnv) {
            @Override
            public SegmentUpdate map(SegmentUpdate u) {
                u.userId = pseudonym(u.userId);
                u.eventId = u.userId + "|" + u.segment + "|" + u.version;
                return u;
            }
        };
    }

    /** The messaging policy's decisions: user and alert ids as on the alerts, so they join. */
    public static Pseudonymizer<io.behaviorcep.policy.AlertDecision> alertDecisions(String keyEnv) {
        return new Pseudonymizer<>(keyEnv) {
            @Override
            public io.behaviorcep.policy.AlertDecision map(io.behaviorcep.policy.AlertDecision d) {
                d.alertId = alertId(d.alertId);
                d.winnerAlertId = alertId(d.winnerAlertId);
                d.userId = pseudonym(d.userId);
                d.decisionId = io.behaviorcep.policy.AlertDecision.id(d.alertId, d.reason, d.decidedAt);
                return d;
            }
        };
    }

    public static Pseudonymizer<ProfileRecord> profileRecords(String keyEnv) {
        return new Pseudonymizer<>(keyEnv) {
            @Override
            public ProfileRecord map(ProfileRecord r) {
                r.userId = pseudonym(r.userId);
                return r;
            }
        };
    }

    @Override
    public void open(OpenContext ctx) {
        mac = mac(key(keyEnv));
    }

    /** The key from the environment variable {@code name}, else the system property {@code name}. */
    public static byte[] key(String name) {
        String k = System.getenv(name);
        if (k == null || k.isEmpty()) k = System.getProperty(name);
        if (k == null || k.isEmpty()) {
            throw new IllegalStateException("privacy.pseudonymize is on, but the environment variable " + name
                    + " (privacy.pseudonym-key-env) holding the HMAC key is not set on this task manager");
        }
        return k.getBytes(StandardCharsets.UTF_8);
    }

    private static Mac mac(byte[] key) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    String pseudonym(String userId) {
        if (userId == null) return null;
        if (mac == null) mac = mac(key(keyEnv));
        return HexFormat.of().formatHex(mac.doFinal(userId.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The published alert id: the first 128 bits, in hex, of HMAC-SHA256(key, "alert_id\n" + the plain
     * id). The plain id hashes the raw user id with message ids that consumers see, so without a key
     * anyone could test guessed user ids against it; keyed, it is still the same for the same match.
     */
    String alertId(String plainAlertId) {
        if (plainAlertId == null) return null;
        if (mac == null) mac = mac(key(keyEnv));
        return HexFormat.of().formatHex(mac.doFinal(("alert_id\n" + plainAlertId).getBytes(StandardCharsets.UTF_8)), 0, 16);
    }

    /** The alert id the job publishes with this key for the plain id of {@code PatternActionsFunction.alertId}. */
    public static String alertId(byte[] key, String plainAlertId) {
        return HexFormat.of().formatHex(mac(key).doFinal(("alert_id\n" + plainAlertId).getBytes(StandardCharsets.UTF_8)), 0, 16);
    }

    /** What the job writes for {@code userId} with this key: for looking a user up in the outputs. */
    public static String pseudonym(byte[] key, String userId) {
        return HexFormat.of().formatHex(mac(key).doFinal(userId.getBytes(StandardCharsets.UTF_8)));
    }
}
