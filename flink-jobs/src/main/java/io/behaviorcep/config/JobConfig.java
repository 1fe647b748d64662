package io.behaviorcep.config;

import io.behaviorcep.event.EventParser;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.util.EditDistance;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * Every setting of the job, typed, with its default. Built from {@code --key value} arguments
 * and/or a properties file ({@code --config FILE}); unknown keys are refused with a suggestion, so
 * a typo in a deployment manifest fails at submission, not silently. The README's configuration
 * table lists {@link #KEYS}.
 */
public final class JobConfig implements Serializable {

    /** Every key the job reads, with its default ("" = none) and what it is for. */
    public static final Map<String, String[]> KEYS = new LinkedHashMap<>();

    static {
        key("kafka.bootstrap-servers", "", "Kafka bootstrap servers (required)");
        key("kafka.group-id", "behavior-cep", "consumer group of the events source (offsets are committed on checkpoints, for monitoring)");
        key("kafka.starting-offsets", "committed-or-earliest", "where a job without state starts reading: committed-or-earliest, earliest, latest");
        key("kafka.transactional-id-prefix", "behavior-cep", "prefix of the Kafka sink's transactional ids; unique per job on a cluster");
        key("kafka.transaction-timeout", "10m", "Kafka transaction timeout; must not exceed the broker's transaction.max.timeout.ms (15m by default)");
        key("kafka.properties.*", "", "passed to every Kafka client as is, e.g. kafka.properties.security.protocol=SASL_SSL");
        key("topics.events", "behavior.events", "input: Segment-spec JSON events");
        key("topics.alerts", "behavior.alerts", "output: alerts (key = user)");
        key("topics.segments", "behavior.segments", "output: segment enter/exit (key = user and segment, compaction-friendly)");
        key("topics.dlq", "behavior.dlq", "output: rejected input records, original bytes, reason in headers");
        key("topics.late", "behavior.late", "output: events that arrived behind the watermark");
        key("topics.pattern-events", "behavior.pattern-events", "output: one JSON record per pattern change accepted or rejected by the running job (key = pattern id)");
        key("topics.alert-decisions", "behavior.alert-decisions", "output: what the messaging policy did with alerts it did not send at once (key = user)");
        key("topics.outcomes", "behavior.outcomes", "output: one outcome per decision of a pattern with a goal, once its goal is decided (key = user)");
        key("topics.control", "behavior.control", "input: privacy controls (erase, opt_out, opt_in) written only by the operator; the job may only read it");
        key("jdbc.url", "", "PostgreSQL JDBC URL; empty disables the PostgreSQL sinks");
        key("jdbc.user", "behavior_cep", "PostgreSQL user");
        key("jdbc.password", "", "a literal password: for the local run only; use jdbc.password-env elsewhere");
        key("jdbc.password-env", JdbcSettings.DEFAULT_PASSWORD_ENV, "environment variable holding the PostgreSQL password on the task managers");
        key("patterns.dir", "patterns", "folder (or single file) of pattern YAML files, read at submission");
        key("patterns.watch", "false", "true: the running job watches patterns.dir (on the task managers too) and applies valid changes without a restart (`local`: on)");
        key("patterns.watch-interval", "1s", "how often the watched pattern folder is read");
        key("patterns.activation-delay", "5s", "event time between the job's watermark when a change is accepted and the change taking effect everywhere");
        key("policy.file", "", "the messaging policy (kind: policy): caps across patterns per channel, priorities, quiet hours; empty: policy.yaml in patterns.dir when there is one; none: no policy");
        key("engine.max-runs-per-user-pattern", "1000", "at most this many open partial matches per user and pattern version; past it the oldest are dropped (counted in partialMatchesOverflowed)");
        key("checkpoint.interval", "10s", "exactly-once checkpoint interval: also the latency of committed output");
        key("checkpoint.timeout", "5m", "a checkpoint not completed by then is declared failed; checkpoint.interval + checkpoint.timeout must stay below kafka.transaction-timeout");
        key("events.max-out-of-orderness", "30s", "how far behind the newest event an event may arrive and still be matched");
        key("events.idle-timeout", "30s", "wall time without events after which event time advances with the wall clock");
        key("events.idle-advance", "true", "advance event time while a source is quiet (false: mark it idle instead)");
        key("events.late-warning-share", "0.01", "log a warning (at most once a minute per subtask) when late events reach this share of a minute's events; 0: any late event");
        key("events.dedup-ttl", "24h", "how long a messageId is remembered for deduplication");
        key("events.dedup-max-ids-per-user", "10000", "most messageIds remembered per user; beyond it the user's oldest are forgotten first (counter dedupIdsForgotten)");
        key("events.max-future-skew", "1h", "events stamped further ahead of the wall clock go to the DLQ");
        key("events.max-bytes", "262144", "events larger than this go to the DLQ");
        key("events.max-depth", "16", "JSON nested deeper than this goes to the DLQ");
        key("profile.retention", "90d", "profile state of a user is dropped after this long without events");
        key("profile.lifetime-retention", "730d", "after profile.retention a user's first and last seen and lifetime events, orders and revenue (46 bytes) are kept this long after their last event, so a returning user is not new and churned holds while they are gone; profile.retention or less: nothing is kept past profile.retention");
        key("profile.max-buffered-events-per-user", "100000", "most events of one user waiting for the watermark (event-time order), in all; more go to the DLQ as USER_BUFFER_FULL. Reached only by a user with that many events ahead of the job's event time");
        key("profile.max-buffered-events-per-instant", "1000", "most events of one user waiting for the watermark at one instant (a flood at one timestamp); more go to the DLQ as USER_BUFFER_FULL");
        key("identity.stitching", "true", "true: an identify, alias or any event carrying both anonymousId and userId links the anonymous id to the user, whose timeline then includes its earlier events (docs/contracts.md, \"Identity\"); false: users are keyed by userId, else anonymousId, never linked");
        key("identity.max-anonymous-events", "200", "most events kept per unlinked anonymous id for replay at its link (and at most 1 MiB of them); past it the oldest go first (counter anonymousEventsOverflowed)");
        key("identity.anonymous-retention", "7d", "event time after an anonymous id's latest event when its link and kept events are dropped");
        key("profile.write-interval", "15m", "user_profiles in PostgreSQL gets a user's latest profile at most once per this much event time");
        key("privacy.consent-field", "context.consent.analytics", "event field holding analytics consent; empty: not checked");
        key("privacy.consent-denied-values", "false,denied", "values of the consent field (case-insensitive) that deny analytics: such events are not profiled or matched");
        key("privacy.consent-required", "false", "true: events without the consent field are treated as denied too");
        key("privacy.controls-from-events", "false", "true: the four event forms below are applied too (anyone holding a write key can then erase or opt in any user); false: they are ordinary events and privacy controls come only from topics.control");
        key("privacy.opt-out-event", "Opted Out", "with privacy.controls-from-events: track event that opts the user out (no alerts, no segments, segments left); empty: none");
        key("privacy.opt-in-event", "Opted In", "with privacy.controls-from-events: track event that lifts the user's opt-out; empty: none");
        key("privacy.opt-out-trait", "opt_out", "with privacy.controls-from-events: identify trait that opts out (true) or back in (false); empty: none");
        key("privacy.erasure-event", "User Deleted", "with privacy.controls-from-events: track event that erases the user: state cleared, PostgreSQL rows deleted; empty: none");
        key("privacy.suppression-refresh", "1m", "how often the job reads changes of the PostgreSQL table suppressed_users");
        key("privacy.pseudonymize", "false", "true: outputs carry HMAC-SHA256 of the user id instead of the id");
        key("privacy.pseudonym-key-env", "BEHAVIOR_CEP_PSEUDONYM_KEY", "environment variable (on the task managers) holding the HMAC key for privacy.pseudonymize");
        key("privacy.audit-key-env", JdbcSettings.DEFAULT_AUDIT_KEY_ENV, "environment variable (on the task managers) holding the HMAC key of the user hashes in PostgreSQL (erasures.user_hash); required with jdbc.url");
        key("experiments.global-holdout", "0", "share (0 up to 1) of all users, by keyed hash, whom no pattern alerts; their decisions are recorded as outcomes (arm global_holdout)");
        key("experiments.global-holdout-salt", "global", "salt of the global holdout's hash; changing it reshuffles who is held out");
        key("parallelism", "", "job parallelism (default: the cluster's)");
    }

    private static void key(String k, String def, String doc) {
        KEYS.put(k, new String[] {def, doc});
    }

    private final Map<String, String> values;

    private JobConfig(Map<String, String> values) {
        this.values = values;
    }

    /** @throws IllegalArgumentException listing every unknown key or bad value */
    public static JobConfig of(Map<String, String> given) {
        Map<String, String> v = new TreeMap<>();
        KEYS.forEach((k, d) -> {
            if (!k.endsWith("*") && !d[0].isEmpty()) v.put(k, d[0]);
        });
        List<String> errors = new ArrayList<>();
        for (Map.Entry<String, String> e : given.entrySet()) {
            String k = e.getKey();
            if (!KEYS.containsKey(k) && !k.startsWith("kafka.properties.")) {
                errors.add("unknown setting '" + k + "'" + suggestion(k));
            }
            v.put(k, e.getValue());
        }
        JobConfig c = new JobConfig(v);
        c.check(errors); // bad values are reported together with unknown keys
        if (!errors.isEmpty()) throw new IllegalArgumentException(String.join("\n", errors));
        return c;
    }

    /** {@code --config FILE} (a properties file) first, then every other {@code --key value} on top. */
    public static JobConfig fromArgs(String[] args) throws IOException {
        return of(settingsFromArgs(List.of(args)));
    }

    /**
     * The settings of a command line: {@code --key value} or {@code --key=value}, and {@code --config FILE}
     * (a properties file) whose values count only where the line gives none. Shared by every command that
     * takes settings.
     */
    public static Map<String, String> settingsFromArgs(List<String> args) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) throw new IllegalArgumentException("expected --key value, got '" + a + "'");
            String k = a.substring(2);
            String val;
            int eq = k.indexOf('=');
            if (eq > 0) {
                val = k.substring(eq + 1);
                k = k.substring(0, eq);
            } else {
                if (i + 1 >= args.size()) throw new IllegalArgumentException("--" + k + " needs a value");
                val = args.get(++i);
            }
            if (k.equals("config")) {
                Properties p = new Properties();
                try (Reader r = Files.newBufferedReader(Path.of(val))) {
                    p.load(r);
                }
                p.stringPropertyNames().forEach(n -> m.putIfAbsent(n, p.getProperty(n)));
            } else {
                m.put(k, val);
            }
        }
        return m;
    }

    private void check(List<String> errors) {
        boolean durationsOk = true;
        for (String k : List.of("kafka.transaction-timeout", "checkpoint.interval", "checkpoint.timeout", "events.max-out-of-orderness",
                "events.idle-timeout", "events.dedup-ttl", "events.max-future-skew", "profile.retention", "profile.lifetime-retention", "profile.write-interval",
                "privacy.suppression-refresh", "patterns.watch-interval", "patterns.activation-delay", "identity.anonymous-retention")) {
            try {
                Durations.parse(values.get(k));
            } catch (IllegalArgumentException e) {
                errors.add(k + ": " + e.getMessage());
                durationsOk = false;
            }
        }
        if (durationsOk && transactionTimeout().compareTo(Duration.ofMinutes(15)) > 0) {
            errors.add("kafka.transaction-timeout " + values.get("kafka.transaction-timeout")
                    + " exceeds the broker default transaction.max.timeout.ms (15m); the job would restart in a loop");
        }
        if (durationsOk && checkpointInterval().plus(checkpointTimeout()).compareTo(transactionTimeout()) >= 0) {
            // a transaction is open from one checkpoint until the next completes and commits it; one the
            // broker times out first is aborted, and its output is lost
            errors.add("checkpoint.interval (" + values.get("checkpoint.interval") + ") + checkpoint.timeout (" + values.get("checkpoint.timeout")
                    + ") must be less than kafka.transaction-timeout (" + values.get("kafka.transaction-timeout")
                    + "): a Kafka transaction that outlives its timeout is aborted by the broker and its output lost");
        }
        try {
            double holdout = Double.parseDouble(values.get("experiments.global-holdout"));
            if (!(holdout >= 0 && holdout < 1)) errors.add("experiments.global-holdout must be a share from 0 up to (not including) 1, got " + holdout);
        } catch (NumberFormatException e) {
            errors.add("experiments.global-holdout must be a number, e.g. 0.05");
        }
        try {
            double share = Double.parseDouble(values.get("events.late-warning-share"));
            if (!(share >= 0)) errors.add("events.late-warning-share must be 0 or more");
        } catch (NumberFormatException e) {
            errors.add("events.late-warning-share must be a number, e.g. 0.01");
        }
        for (String k : List.of("events.max-bytes", "events.max-depth", "engine.max-runs-per-user-pattern", "events.dedup-max-ids-per-user", "profile.max-buffered-events-per-user",
                "profile.max-buffered-events-per-instant", "identity.max-anonymous-events")) {
            try {
                if (Integer.parseInt(values.get(k)) <= 0) errors.add(k + " must be positive");
            } catch (NumberFormatException e) {
                errors.add(k + " must be a whole number");
            }
        }
        if (!Set.of("committed-or-earliest", "earliest", "latest").contains(startingOffsets())) {
            errors.add("kafka.starting-offsets must be committed-or-earliest, earliest or latest");
        }
        for (String k : List.of("events.idle-advance", "privacy.consent-required", "privacy.pseudonymize", "privacy.controls-from-events", "patterns.watch",
                "identity.stitching")) {
            if (!Set.of("true", "false").contains(values.get(k))) {
                // Boolean.parseBoolean would quietly turn a typo into false
                errors.add(k + " must be true or false, got '" + values.get(k) + "'");
            }
        }
        if ("true".equals(values.get("privacy.pseudonymize")) && (values.get("privacy.pseudonym-key-env") == null
                || values.get("privacy.pseudonym-key-env").isBlank())) {
            errors.add("privacy.pseudonymize needs privacy.pseudonym-key-env: the environment variable holding the key");
        }
        String parallelism = values.get("parallelism");
        if (parallelism != null && !parallelism.isBlank()) {
            try {
                if (Integer.parseInt(parallelism) < 1) errors.add("parallelism must be 1 or more");
            } catch (NumberFormatException e) {
                errors.add("parallelism must be a whole number");
            }
        }
    }

    private static String suggestion(String k) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String known : KEYS.keySet()) {
            int d = EditDistance.between(k, known);
            if (d < bestD) {
                bestD = d;
                best = known;
            }
        }
        return bestD <= 4 ? ", did you mean '" + best + "'?" : "";
    }


    public JobConfig with(String key, String value) {
        Map<String, String> m = new TreeMap<>(values);
        m.put(key, value);
        return of(m);
    }

    public String get(String key) {
        return values.get(key);
    }

    private Duration duration(String key) {
        return Durations.parse(values.get(key));
    }

    public String bootstrapServers() {
        return values.getOrDefault("kafka.bootstrap-servers", "");
    }

    public String groupId() {
        return values.get("kafka.group-id");
    }

    public String startingOffsets() {
        return values.get("kafka.starting-offsets");
    }

    public String transactionalIdPrefix() {
        return values.get("kafka.transactional-id-prefix");
    }

    public Duration transactionTimeout() {
        return duration("kafka.transaction-timeout");
    }

    /** Extra client settings (security and the like). */
    public Properties kafkaProperties() {
        Properties p = new Properties();
        values.forEach((k, v) -> {
            if (k.startsWith("kafka.properties.")) p.setProperty(k.substring("kafka.properties.".length()), v);
        });
        return p;
    }

    public String eventsTopic() {
        return values.get("topics.events");
    }

    public String alertsTopic() {
        return values.get("topics.alerts");
    }

    public String outcomesTopic() {
        return values.get("topics.outcomes");
    }

    /** The global holdout ({@code experiments.*}). */
    public io.behaviorcep.experiment.Experiments experiments() {
        return new io.behaviorcep.experiment.Experiments(Double.parseDouble(values.get("experiments.global-holdout")),
                values.get("experiments.global-holdout-salt"));
    }

    public String segmentsTopic() {
        return values.get("topics.segments");
    }

    public String dlqTopic() {
        return values.get("topics.dlq");
    }

    public String lateTopic() {
        return values.get("topics.late");
    }

    public String alertDecisionsTopic() {
        return values.get("topics.alert-decisions");
    }

    public String patternEventsTopic() {
        return values.get("topics.pattern-events");
    }

    /** Null when PostgreSQL output is disabled. */
    public JdbcSettings jdbc() {
        String url = values.get("jdbc.url");
        if (url == null || url.isBlank()) return null;
        String literal = values.get("jdbc.password");
        return new JdbcSettings(url, values.get("jdbc.user"), values.get("jdbc.password-env"), literal == null || literal.isEmpty() ? null : literal,
                values.get("privacy.audit-key-env"));
    }

    public Path patternsPath() {
        return Path.of(values.get("patterns.dir"));
    }

    /**
     * The messaging policy file ({@code policy.file}): that file; when empty, {@code policy.yaml} in
     * {@link #patternsPath()} if it is a folder holding one; null when there is none or it is {@code none}.
     */
    public Path policyPath() {
        String v = values.get("policy.file");
        if ("none".equals(v)) return null;
        if (v != null && !v.isBlank()) return Path.of(v);
        Path beside = patternsPath().resolve("policy.yaml");
        return java.nio.file.Files.isDirectory(patternsPath()) && java.nio.file.Files.isRegularFile(beside) ? beside : null;
    }

    /** Whether the running job applies changes of {@link #patternsPath()} (issue #9); off: the patterns of the submission only. */
    /** Identity stitching (docs/contracts.md, "Identity"): the identity resolver runs before the keyBy. */
    public boolean identityStitching() {
        return Boolean.parseBoolean(values.get("identity.stitching"));
    }

    public int identityMaxAnonymousEvents() {
        return Integer.parseInt(values.get("identity.max-anonymous-events"));
    }

    public Duration identityAnonymousRetention() {
        return duration("identity.anonymous-retention");
    }

    public boolean patternsWatch() {
        return Boolean.parseBoolean(values.get("patterns.watch"));
    }

    public Duration patternsWatchInterval() {
        return duration("patterns.watch-interval");
    }

    /** Event time from the job's watermark at acceptance to a change's {@link io.behaviorcep.pattern.PatternChange#activateAt}. */
    public Duration patternsActivationDelay() {
        return duration("patterns.activation-delay");
    }

    public Duration checkpointInterval() {
        return duration("checkpoint.interval");
    }

    public Duration maxOutOfOrderness() {
        return duration("events.max-out-of-orderness");
    }

    public Duration checkpointTimeout() {
        return duration("checkpoint.timeout");
    }

    public double lateWarningShare() {
        return Double.parseDouble(values.get("events.late-warning-share"));
    }

    public Duration idleTimeout() {
        return duration("events.idle-timeout");
    }

    public boolean idleAdvance() {
        return Boolean.parseBoolean(values.get("events.idle-advance"));
    }

    public Duration dedupTtl() {
        return duration("events.dedup-ttl");
    }

    public int dedupMaxIdsPerUser() {
        return Integer.parseInt(values.get("events.dedup-max-ids-per-user"));
    }

    public int profileMaxBufferedEvents() {
        return Integer.parseInt(values.get("profile.max-buffered-events-per-user"));
    }

    public int profileMaxBufferedAtOneInstant() {
        return Integer.parseInt(values.get("profile.max-buffered-events-per-instant"));
    }

    public Duration profileRetention() {
        return duration("profile.retention");
    }

    /** At least {@link #profileRetention()}: a shorter setting keeps nothing past the retention. */
    public Duration profileLifetimeRetention() {
        Duration d = duration("profile.lifetime-retention");
        return d.compareTo(profileRetention()) < 0 ? profileRetention() : d;
    }

    public Duration profileWriteInterval() {
        return duration("profile.write-interval");
    }

    /**
     * How events change the user's privacy settings. Consent always applies (it only ever restricts
     * the event's own user); opt-out, opt-in and erasure by event only with
     * {@code privacy.controls-from-events}, since anyone holding a site's public write key can send
     * them for any user id. Without it they are ordinary events.
     */
    public io.behaviorcep.privacy.PrivacyRules privacyRules() {
        boolean fromEvents = controlsFromEvents();
        return new io.behaviorcep.privacy.PrivacyRules(values.get("privacy.consent-field"),
                io.behaviorcep.privacy.PrivacyRules.values(values.get("privacy.consent-denied-values")),
                Boolean.parseBoolean(values.get("privacy.consent-required")), fromEvents ? values.get("privacy.opt-out-event") : null,
                fromEvents ? values.get("privacy.opt-in-event") : null, fromEvents ? values.get("privacy.opt-out-trait") : null,
                fromEvents ? values.get("privacy.erasure-event") : null);
    }

    /** Whether erasure, opt-out and opt-in are also taken from the events (off: only from {@link #controlTopic()}). */
    public boolean controlsFromEvents() {
        return Boolean.parseBoolean(values.get("privacy.controls-from-events"));
    }

    public String controlTopic() {
        return values.get("topics.control");
    }

    public String auditKeyEnv() {
        return values.get("privacy.audit-key-env");
    }

    public Duration suppressionRefresh() {
        return duration("privacy.suppression-refresh");
    }

    public boolean pseudonymize() {
        return Boolean.parseBoolean(values.get("privacy.pseudonymize"));
    }

    public String pseudonymKeyEnv() {
        return values.get("privacy.pseudonym-key-env");
    }

    /** {@code engine.max-runs-per-user-pattern}: the bound on one user's open partial matches of one pattern version. */
    public int maxRunsPerUserPattern() {
        return Integer.parseInt(values.get("engine.max-runs-per-user-pattern"));
    }

    public Integer parallelism() {
        String p = values.get("parallelism");
        return p == null || p.isBlank() ? null : Integer.parseInt(p);
    }

    public EventParser.Limits limits() {
        EventParser.Limits l = EventParser.Limits.defaults();
        l.maxBytes = Integer.parseInt(values.get("events.max-bytes"));
        l.maxDepth = Integer.parseInt(values.get("events.max-depth"));
        l.maxFutureSkew = duration("events.max-future-skew");
        return l;
    }

    public Map<String, String> asMap() {
        return new TreeMap<>(values);
    }
}
