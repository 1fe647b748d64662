package io.behaviorcep.identity;

/**
 * What the identity resolver keeps of one address id besides its buffered events
 * ({@link IdentityLinks}): a small POJO, one state value per id.
 */
public class AddressState {
    /** The userId this anonymous id is linked to; null while unlinked. */
    public String linkedTo;
    /** Events of the id alone (no userId) in the buffer, and their estimated bytes. */
    public int buffered;
    public long bufferedBytes;
    /** Whether the id ever sent an event without a userId: only then has the keyed path state under it to retire. */
    public boolean sentAlone;
    /** The latest event time of the id: the state goes at {@code lastEventAt + identity.anonymous-retention}. */
    public long lastEventAt = Long.MIN_VALUE;
    /** When the id's one expiry timer fires; {@link Long#MIN_VALUE}: none. */
    public long expiryAt = Long.MIN_VALUE;

    public AddressState() {}
}
