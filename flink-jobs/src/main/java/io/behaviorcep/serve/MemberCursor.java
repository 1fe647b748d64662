package io.behaviorcep.serve;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque cursor of {@code GET /v1/segments/{name}/members}: where the next page starts. Pages
 * are keyset pages in {@code user_id} order, so the cursor is the segment and the last user id of
 * the page, base64url-encoded. Stable: members who join or leave between pages never shift the
 * rest, and a cursor stays valid across restarts and replicas. A cursor carries its segment, so one
 * handed to another segment is refused instead of silently starting in the middle.
 */
public record MemberCursor(String segment, String afterUserId) {
    private static final String VERSION = "m1";

    public String encode() {
        String plain = VERSION + "\n" + segment + "\n" + afterUserId;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(plain.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @throws ApiError 400 {@code invalid_cursor} if {@code cursor} is not one this API issued for {@code segment}
     */
    public static MemberCursor decode(String cursor, String segment) {
        String plain;
        try {
            plain = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw invalid();
        }
        String[] parts = plain.split("\n", 3);
        if (parts.length != 3 || !VERSION.equals(parts[0])) throw invalid();
        if (!parts[1].equals(segment)) {
            throw ApiError.badRequest("invalid_cursor", "the cursor belongs to another segment");
        }
        return new MemberCursor(parts[1], parts[2]);
    }

    private static ApiError invalid() {
        return ApiError.badRequest("invalid_cursor", "the cursor is not one this API issued");
    }
}
