package io.behaviorcep.privacy;

import io.behaviorcep.event.BehaviorEvent;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What an event means for the user's privacy settings. Decided per event by the profile operator,
 * before anything is counted or matched (docs/contracts.md, "Privacy"):
 *
 * <ul>
 *   <li>{@link Kind#ERASURE}: a track event named {@code privacy.erasure-event} ("User Deleted"):
 *       everything the job holds about the user is cleared and their rows deleted;</li>
 *   <li>{@link Kind#OPT_OUT} / {@link Kind#OPT_IN}: a track event named {@code privacy.opt-out-event}
 *       ("Opted Out") / {@code privacy.opt-in-event} ("Opted In"), or an {@code identify} whose trait
 *       {@code privacy.opt-out-trait} ({@code opt_out}) is {@code true} / {@code false};</li>
 *   <li>{@link Kind#CONSENT_DENIED}: the field at {@code privacy.consent-field}
 *       ({@code context.consent.analytics}) holds one of {@code privacy.consent-denied-values}
 *       ({@code false}, {@code denied}; compared case-insensitively), or is missing while
 *       {@code privacy.consent-required} is true;</li>
 *   <li>{@link Kind#NORMAL}: anything else.</li>
 * </ul>
 *
 * Erasure is checked first, then opt-out/opt-in, then consent: a user can always opt out or be erased.
 *
 * <p>The event forms of erasure, opt-out and opt-in can be sent by anyone holding a site's public
 * write key, for any user id: {@code JobConfig#privacyRules()} leaves them out (they classify as
 * {@link Kind#NORMAL}) unless {@code privacy.controls-from-events} is on. The trusted way is the
 * control topic ({@link ControlRecords}), whose keyed records ({@link #controlRecord}) reach each
 * user's state like the rows of the suppression list.
 */
public final class PrivacyRules implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Kind { NORMAL, CONSENT_DENIED, OPT_OUT, OPT_IN, ERASURE }

    /** Type of the internal records that carry the suppression list (never produced by the parser). */
    public static final String SUPPRESSION_LIST_TYPE = "_suppression_list";
    /** Property of such a record: "true" (on the list) or "false" (lifted). */
    public static final String SUPPRESSED_PROPERTY = "suppressed";

    /** Type of the internal records that carry an operator's privacy control (never produced by the parser). */
    public static final String CONTROL_TYPE = "_privacy_control";
    /** Property of such a record: {@link #CONTROL_ERASE}, {@link #CONTROL_OPT_OUT} or {@link #CONTROL_OPT_IN}. */
    public static final String CONTROL_PROPERTY = "control";
    /** Property of such a record: the request id of the control record, for logs. */
    public static final String REQUEST_ID_PROPERTY = "request_id";
    public static final String CONTROL_ERASE = "erase";
    public static final String CONTROL_OPT_OUT = "opt_out";
    public static final String CONTROL_OPT_IN = "opt_in";
    /**
     * Not a privacy control: identity stitching linked this anonymous id to a userId and replays its
     * events there (docs/contracts.md, "Identity"); the keyed path drops the id's state as an erasure
     * does, without deleting rows or keeping an erasure marker. Emitted only by the identity resolver.
     */
    public static final String CONTROL_RETIRE = "retire";

    private final String consentField;
    private final Set<String> deniedValues;
    private final boolean consentRequired;
    private final String optOutEvent;
    private final String optInEvent;
    private final String optOutTrait;
    private final String erasureEvent;

    public PrivacyRules(String consentField, Set<String> deniedValues, boolean consentRequired, String optOutEvent,
                        String optInEvent, String optOutTrait, String erasureEvent) {
        this.consentField = blankToNull(consentField);
        this.deniedValues = deniedValues.stream().map(v -> v.trim().toLowerCase(Locale.ROOT)).filter(v -> !v.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
        this.consentRequired = consentRequired;
        this.optOutEvent = blankToNull(optOutEvent);
        this.optInEvent = blankToNull(optInEvent);
        this.optOutTrait = blankToNull(optOutTrait);
        this.erasureEvent = blankToNull(erasureEvent);
    }

    /** Nothing is a privacy event: every event is {@link Kind#NORMAL}. */
    public static PrivacyRules none() {
        return new PrivacyRules(null, Set.of(), false, null, null, null, null);
    }

    /** The defaults of {@code JobConfig}. */
    public static PrivacyRules defaults() {
        return new PrivacyRules("context.consent.analytics", Set.of("false", "denied"), false, "Opted Out", "Opted In", "opt_out",
                "User Deleted");
    }

    public static Set<String> values(String commaSeparated) {
        if (commaSeparated == null || commaSeparated.isBlank()) return Set.of();
        return Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    public String erasureEvent() {
        return erasureEvent;
    }

    public boolean isErasure(BehaviorEvent e) {
        return erasureEvent != null && "track".equals(e.type) && erasureEvent.equals(e.event);
    }

    public Kind classify(BehaviorEvent e) {
        if (isErasure(e)) return Kind.ERASURE;
        if ("track".equals(e.type) && e.event != null) {
            if (e.event.equals(optOutEvent)) return Kind.OPT_OUT;
            if (e.event.equals(optInEvent)) return Kind.OPT_IN;
        }
        if (optOutTrait != null && "identify".equals(e.type)) {
            String v = e.property(optOutTrait);
            if ("true".equalsIgnoreCase(v)) return Kind.OPT_OUT;
            if ("false".equalsIgnoreCase(v)) return Kind.OPT_IN;
        }
        if (consentField != null) {
            String v = e.field(consentField);
            if (v == null ? consentRequired : deniedValues.contains(v.trim().toLowerCase(Locale.ROOT))) return Kind.CONSENT_DENIED;
        }
        return Kind.NORMAL;
    }

    /** A record of the suppression list, not a user's event. */
    public static boolean isSuppressionListRecord(BehaviorEvent e) {
        return SUPPRESSION_LIST_TYPE.equals(e.type);
    }

    /** The record the suppression list source emits for one row of {@code suppressed_users}. */
    public static BehaviorEvent suppressionListRecord(String userId, boolean suppressed, long updatedAt) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = SUPPRESSION_LIST_TYPE;
        e.userId = userId;
        e.userKey = userId;
        e.messageId = SUPPRESSION_LIST_TYPE + ":" + userId + ":" + updatedAt + ":" + suppressed;
        e.timestamp = updatedAt;
        e.properties.put(SUPPRESSED_PROPERTY, Boolean.toString(suppressed));
        return e;
    }

    /** A keyed record of the control topic, not a user's event. */
    public static boolean isControlRecord(BehaviorEvent e) {
        return CONTROL_TYPE.equals(e.type);
    }

    /** Internal records that are applied when they arrive (never late, never deduplicated): suppression list and controls. */
    public static boolean isInternalRecord(BehaviorEvent e) {
        return isSuppressionListRecord(e) || isControlRecord(e);
    }

    /** An erasure from the control topic. */
    public static boolean isControlErasure(BehaviorEvent e) {
        return isControlRecord(e) && CONTROL_ERASE.equals(e.property(CONTROL_PROPERTY));
    }

    /** A retirement of an anonymous id linked by identity stitching. */
    public static boolean isRetire(BehaviorEvent e) {
        return isControlRecord(e) && CONTROL_RETIRE.equals(e.property(CONTROL_PROPERTY));
    }

    /**
     * Whether the record erases its user further down (the pattern engine): an erasure from the control
     * topic, or the erasure event when {@code erasureEvent} (only set with privacy.controls-from-events) is.
     */
    public static boolean erases(BehaviorEvent e, String erasureEvent) {
        return isControlErasure(e) || erasureEvent != null && "track".equals(e.type) && erasureEvent.equals(e.event);
    }

    /**
     * The record of one id of a control: keyed by that id, so it reaches that id's state.
     *
     * @param at the control's own time (epoch ms); informative only: a control is applied when it arrives
     */
    public static BehaviorEvent controlRecord(String userKey, String control, String requestId, long at) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = CONTROL_TYPE;
        e.userId = userKey;
        e.userKey = userKey;
        e.messageId = CONTROL_TYPE + ":" + control + ":" + requestId + ":" + userKey;
        e.timestamp = at;
        e.properties.put(CONTROL_PROPERTY, control);
        if (requestId != null) e.properties.put(REQUEST_ID_PROPERTY, requestId);
        return e;
    }
}
