package io.behaviorcep.serve;

/**
 * A request the API answers with an error: the HTTP status and a stable, machine-readable code
 * ({@code {"error":{"code":"user_not_found","message":"..."}}}). The codes are part of the API
 * contract (the OpenAPI document lists them); messages are for people and may change.
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String code;
    /** Seconds a client should wait before retrying (429); 0 when not applicable. */
    private final long retryAfterSeconds;

    public ApiError(int status, String code, String message) {
        this(status, code, message, 0);
    }

    public ApiError(int status, String code, String message, long retryAfterSeconds) {
        super(message);
        this.status = status;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public static ApiError unauthorized(String message) {
        return new ApiError(401, "unauthorized", message);
    }

    public static ApiError badRequest(String code, String message) {
        return new ApiError(400, code, message);
    }

    public static ApiError notFound(String code, String message) {
        return new ApiError(404, code, message);
    }
}
