package io.behaviorcep.serve;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MemberCursorTest {

    @Test
    void aCursorDecodesToWhatItWasMadeOfWhateverTheUserId() {
        for (String user : new String[] {"user-1", "", "a\nb", "名前/with spaces?&=", "x".repeat(1024)}) {
            MemberCursor c = new MemberCursor("cart_abandoners", user);
            String encoded = c.encode();
            assertThat(encoded).as("URL-safe, no padding").matches("[A-Za-z0-9_-]+");
            assertThat(MemberCursor.decode(encoded, "cart_abandoners")).isEqualTo(c);
        }
    }

    @Test
    void aCursorOfAnotherSegmentOrNotOursIsInvalid() {
        String ofOther = new MemberCursor("engaged", "u").encode();
        assertThatThrownBy(() -> MemberCursor.decode(ofOther, "cart_abandoners"))
                .isInstanceOfSatisfying(ApiError.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.code()).isEqualTo("invalid_cursor");
                });
        for (String bad : new String[] {"!!", "dXNlcg", "", "bTIKYQpi"}) { // not base64url; "user"; empty; "m2\na\nb"
            assertThatThrownBy(() -> MemberCursor.decode(bad, "a")).as(bad)
                    .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.code()).isEqualTo("invalid_cursor"));
        }
    }
}
