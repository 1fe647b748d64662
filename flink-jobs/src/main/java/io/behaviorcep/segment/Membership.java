package io.behaviorcep.segment;

/** A user's current membership of one segment, in keyed state. */
public class Membership {
    public long enteredAt;
    public long expiresAt;
    public String reason;

    public Membership() {}

    public Membership(long enteredAt, long expiresAt, String reason) {
        this.enteredAt = enteredAt;
        this.expiresAt = expiresAt;
        this.reason = reason;
    }
}
