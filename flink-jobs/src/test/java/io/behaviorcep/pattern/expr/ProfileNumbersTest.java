package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.profile.ProfileState;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Profile fields read as numbers ({@link EvalContext#profileNumber}) give what reading their text
 * and parsing it gives: for every field of many generated profiles, and for conditions over them.
 */
class ProfileNumbersTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L, HOUR = 60 * MIN, DAY = 24 * HOUR;

    static List<ProfileSnapshot> generatedSnapshots() {
        Random r = new Random(3);
        String[] kinds = {"Home", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started", "Order Completed"};
        List<ProfileSnapshot> out = new ArrayList<>();
        for (int user = 0; user < 30; user++) {
            ProfileState s = new ProfileState();
            long t = D0 + r.nextInt(24 * 60) * MIN;
            for (int i = 0; i < 60; i++) {
                t += r.nextInt(3) == 0 ? r.nextInt(3) * DAY + r.nextInt(24) * HOUR : r.nextInt(40) * MIN + r.nextInt(60_000);
                BehaviorEvent e = new BehaviorEvent();
                e.event = kinds[r.nextInt(kinds.length)];
                e.type = e.event.equals("Home") ? "page" : "track";
                e.userId = e.userKey = "u" + user;
                e.messageId = "m" + user + "-" + i;
                e.timestamp = t;
                if (e.event.equals("Order Completed")) e.properties.put("revenue", (r.nextInt(100_000) / 100.0) + "");
                s.add(e);
                out.add(s.snapshot(t));
                out.add(s.snapshot(t + r.nextInt(40) * DAY + r.nextInt(24) * HOUR));
            }
        }
        return out;
    }

    @Test
    void everyFieldAsANumberIsItsTextParsed() {
        int compared = 0;
        for (ProfileSnapshot p : generatedSnapshots()) {
            for (String f : ProfileSnapshot.FIELDS) {
                double parsed = Num.parse(p.field(f));
                assertThat(parsed).as(f).isEqualTo(parsed); // every field is a number
                assertThat(p.number(f)).as(f + " of " + p).isEqualTo(parsed);
                compared++;
            }
        }
        assertThat(compared).isGreaterThan(100_000);
        assertThat(new ProfileSnapshot().number("traits.cart_value")).as("traits are read as text").isNaN();
        assertThat(new ProfileSnapshot().number("no_such_field")).isNaN();
    }

    @Test
    void conditionsGiveTheSameAnswerAsThroughText() {
        List<Expr> conditions = new ArrayList<>();
        for (String f : ProfileSnapshot.FIELDS) {
            for (String c : new String[] {"profile.%s > 3", "2.5 <= profile.%s", "profile.%s == 0", "profile.%s != 1",
                    "profile.%s > profile.sessions_lifetime", "profile.%s < sum(x.properties.y)"}) {
                conditions.add(ConditionParser.parse(c.formatted(f)));
            }
        }
        conditions.add(ConditionParser.parse("profile.traits.cart_value > 3"));
        int holds = 0, total = 0;
        for (ProfileSnapshot p : generatedSnapshots()) {
            p.traitIds = new String[] {"cart_value"};
            p.traitValues = new String[] {p.ordersLifetime % 2 == 0 ? "5" : "none"};
            EvalContext textOnly = textOnly(p), withNumbers = EvalContext.ofProfile(p);
            for (Expr e : conditions) {
                boolean viaText = e.test(textOnly);
                assertThat(e.test(withNumbers)).as(e + " on " + p).isEqualTo(viaText);
                if (viaText) holds++;
                total++;
            }
        }
        assertThat(holds).as("both answers occur").isBetween(total / 20, total - total / 20);
    }

    /** The profile read only as text, as every context did before numbers had a shortcut. */
    private static EvalContext textOnly(ProfileSnapshot p) {
        EvalContext numbers = EvalContext.ofProfile(p);
        return new EvalContext() {
            @Override
            public BehaviorEvent current() {
                return null;
            }

            @Override
            public List<BehaviorEvent> step(String name) {
                return List.of();
            }

            @Override
            public String profileField(String name) {
                return numbers.profileField(name);
            }
        };
    }
}
