package io.behaviorcep.experiment;

import io.behaviorcep.pattern.PatternDefinition;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.List;

/**
 * Which arm a user is in: HMAC-SHA256 keyed with the salt, over the experiment id and the raw user id,
 * read as a number in [0, 1) and mapped to the arms by their weights in the order they are written.
 * Deterministic, so a user lands in the same arm in the streaming job, in {@code replay} and in the
 * test kit; two experiments (different ids) hash independently. docs/pattern-language.md, "Experiments and goals".
 */
public final class Assignment {
    /** The experiment id under which the global holdout hashes users. */
    public static final String GLOBAL_HOLDOUT_ID = "global_holdout";

    private Assignment() {}

    /** A uniform number in [0, 1) for (salt, experiment, user): the top 53 bits of the HMAC. */
    public static double unit(String salt, String experimentId, String userId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            // an empty salt is allowed; HMAC needs a key of at least one byte
            byte[] key = ("behavior-cep-experiment\n" + salt).getBytes(StandardCharsets.UTF_8);
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = mac.doFinal((experimentId + "\n" + userId).getBytes(StandardCharsets.UTF_8));
            long bits = ByteBuffer.wrap(h, 0, 8).getLong() >>> 11;
            return bits * 0x1.0p-53;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The variant of {@code experiment} the user is in. */
    public static PatternDefinition.Variant variant(PatternDefinition.Experiment experiment, String userId) {
        return pick(experiment.variants, unit(experiment.salt, experiment.id, userId));
    }

    static PatternDefinition.Variant pick(List<PatternDefinition.Variant> variants, double u) {
        double total = 0;
        for (PatternDefinition.Variant v : variants) total += v.weight;
        double at = u * total;
        double upTo = 0;
        for (PatternDefinition.Variant v : variants) {
            upTo += v.weight;
            if (at < upTo) return v;
        }
        return variants.get(variants.size() - 1); // rounding at the very top
    }

    /** Whether the user is in the global holdout of {@code share} (0 to 1) under {@code salt}. */
    public static boolean inGlobalHoldout(double share, String salt, String userId) {
        return share > 0 && unit(salt, GLOBAL_HOLDOUT_ID, userId) < share;
    }

    /** The pattern as the user's arm runs it: the arm's own version, or the pattern itself. */
    public static PatternDefinition patternFor(PatternDefinition def, String userId) {
        PatternDefinition.Experiment e = def.experiment();
        return e == null ? def : variant(e, userId).pattern;
    }
}
