package io.behaviorcep.event;

/**
 * Records that travel on the keyed path beside the events, in the same stream, so that dedup, profile,
 * engine and actions form one chain after one {@code keyBy}: no second input, no second shuffle.
 *
 * <ul>
 *   <li>A <b>pattern change</b> of the running job enters at the head of the chain, once per subtask
 *       (it arrives there on a broadcast input), and passes every operator on the way; the engine
 *       and the actions operator apply it and keep it in operator state. It belongs to no user: an
 *       operator passes it on without touching keyed state or timers.</li>
 *   <li>An <b>actions control</b> is the profile's word to the actions operator about one user
 *       ({@link #SUPPRESS}, {@link #UNSUPPRESS}, {@link #ERASE}, {@link #RETIRE}); the engine hands it on.</li>
 * </ul>
 *
 * Both are {@link BehaviorEvent}s of a reserved {@code type} (a leading underscore, which no Segment
 * call has and the parser refuses), like the privacy control records.
 */
public final class KeyedPathRecords {
    public static final String PATTERN_CHANGE_TYPE = "_pattern_change";
    public static final String ACTIONS_CONTROL_TYPE = "_actions_control";
    /** Property of an actions control: {@link #SUPPRESS}, {@link #UNSUPPRESS} or {@link #ERASE}. */
    public static final String CONTROL_PROPERTY = "control";
    public static final String SUPPRESS = "suppress";
    public static final String UNSUPPRESS = "unsuppress";
    public static final String ERASE = "erase";
    /** An anonymous id merged into its user by identity stitching: its actions state goes, without an erasure marker. */
    public static final String RETIRE = "retire";
    /** What the key of a pattern change starts with; the head of the keyed path completes it with a key of its own subtask. */
    public static final String NO_USER = "\u0000";

    private KeyedPathRecords() {}

    public static boolean isPatternChange(BehaviorEvent e) {
        return PATTERN_CHANGE_TYPE.equals(e.type);
    }

    public static boolean isActionsControl(BehaviorEvent e) {
        return ACTIONS_CONTROL_TYPE.equals(e.type);
    }

    /** What the actions operator must do about {@code user} from event time {@code at}. */
    public static BehaviorEvent actionsControl(String user, String control, long at) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = ACTIONS_CONTROL_TYPE;
        e.userKey = user;
        e.timestamp = at;
        e.messageId = ACTIONS_CONTROL_TYPE + ":" + control + ":" + at;
        e.properties.put(CONTROL_PROPERTY, control);
        return e;
    }
}
