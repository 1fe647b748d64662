package io.behaviorcep.policy;

import io.behaviorcep.pattern.Example;

import java.io.Serializable;
import java.util.List;

/**
 * One {@code examples:} entry of a policy file: events run through the job with the patterns it names
 * (null: every pattern loaded beside the policy) under the policy, and the alerts and decisions expected.
 */
public record PolicyExample(String name, int line, List<String> patterns, List<Example.Event> events, long until,
                            List<Expected> alerts, List<Expected> decisions) implements Serializable {
    /** An expected alert ({@code reason} null) or decision; {@code type}/{@code reason} null: not checked. */
    public record Expected(long at, String user, String type, String reason) implements Serializable {}
}
