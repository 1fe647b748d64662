package io.behaviorcep.serve;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Who may ask, and how often: the {@code Authorization: Bearer <key>} header must hold an active key
 * of {@code serve_api_keys} (looked up by its SHA-256 on every request, so a revocation takes effect
 * at once), and each key gets {@link TokenBucketRateLimiter its} share of requests.
 */
public final class RequestGuard {
    private final ServeQueries db;
    private final TokenBucketRateLimiter limiter;

    public RequestGuard(ServeQueries db, TokenBucketRateLimiter limiter) {
        this.db = db;
        this.limiter = limiter;
    }

    /**
     * @return the name of the key that may make this request
     * @throws ApiError 401 {@code unauthorized} without an active key; 429 {@code rate_limited} (with the
     *         seconds to wait) when the key has used its share
     */
    public String admit(String authorizationHeader) throws SQLException {
        String key = ApiKeys.bearer(authorizationHeader)
                .orElseThrow(() -> ApiError.unauthorized("send an API key as 'Authorization: Bearer <key>'"));
        Optional<String> name;
        try (Connection c = db.connect()) {
            name = ApiKeys.activeKeyName(c, key);
        }
        if (name.isEmpty()) throw ApiError.unauthorized("the API key is unknown or revoked");
        TokenBucketRateLimiter.Decision d = limiter.tryAcquire(name.get());
        if (!d.allowed()) {
            throw new ApiError(429, "rate_limited", "too many requests for this API key; retry after "
                    + d.retryAfterSeconds() + " s", d.retryAfterSeconds());
        }
        return name.get();
    }
}
