package io.behaviorcep.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.behaviorcep.output.Pseudonymizer;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The HTTP side of {@code serve}: Javalin routes onto {@link ServeQueries}, {@link RequestGuard} in
 * front, errors as {@code {"error":{"code","message"}}}. Deliberately thin: what an answer holds is
 * decided in the plain classes. The API is documented once, in {@code openapi.json} beside this
 * class, served at {@code /v1/openapi.json}; {@code ServeApiIT} holds the routes to it.
 */
public final class ServeServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServeServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String OPENAPI_RESOURCE = "/io/behaviorcep/serve/openapi.json";
    /** Reachable without a key: the probe, and the description of the API. */
    static final Set<String> PUBLIC_PATHS = Set.of("/healthz", "/v1/openapi.json");
    private static final Set<String> HTTP_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY");

    private final Javalin app;
    private final HikariDataSource pool;

    private ServeServer(Javalin app, HikariDataSource pool) {
        this.app = app;
        this.pool = pool;
    }

    /** Opens the read-only connection pool and starts listening on {@code serve.bind-address}:{@code serve.port}. */
    public static ServeServer start(ServeConfig config) {
        HikariDataSource pool = readOnlyPool(config);
        try {
            ServeQueries queries = new ServeQueries(pool, config.recentAlerts(), config.patternsCache().toNanos());
            RequestGuard guard = new RequestGuard(queries, new TokenBucketRateLimiter(config.rateLimit(), config.rateLimitBurst()));
            UnaryOperator<String> storedUserId = UnaryOperator.identity();
            if (config.pseudonymize()) {
                // the key is read once, at start: without it, lookups by raw id would find nobody
                byte[] key = Pseudonymizer.key(config.pseudonymKeyEnv());
                storedUserId = id -> Pseudonymizer.pseudonym(key, id);
            }
            Javalin app = create(queries, guard, storedUserId, config.pageDefaultLimit(), config.pageMaxLimit());
            app.start(config.bindAddress(), config.port());
            return new ServeServer(app, pool);
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
    }

    static HikariDataSource readOnlyPool(ServeConfig config) {
        var jdbc = config.jdbc();
        HikariConfig h = new HikariConfig();
        h.setPoolName("serve");
        h.setJdbcUrl(jdbc.url());
        h.setUsername(jdbc.user());
        String password = jdbc.literalPassword() != null ? jdbc.literalPassword()
                : jdbc.passwordEnv() == null ? null : System.getenv(jdbc.passwordEnv());
        if (password != null) h.setPassword(password);
        // connection.setReadOnly(true) on every connection: PostgreSQL then refuses any write in the
        // session (default_transaction_read_only), whatever the role may do; the role should be a
        // SELECT-only one as well (docs/operations.md)
        h.setReadOnly(true);
        // pgJDBC honours setReadOnly in auto-commit mode only with readOnlyMode=always
        h.addDataSourceProperty("readOnlyMode", "always");
        h.setAutoCommit(true);
        h.setMaximumPoolSize(config.dbPoolSize());
        h.setConnectionTimeout(5_000);
        // the server starts without a database and reports it on /healthz, rather than crash-looping
        h.setInitializationFailTimeout(-1);
        h.addDataSourceProperty("ApplicationName", "behavior-cep-serve");
        h.addDataSourceProperty("socketTimeout", "30");
        return new HikariDataSource(h);
    }

    /** The application, not started: routes, the guard, error mapping. */
    static Javalin create(ServeQueries queries, RequestGuard guard, UnaryOperator<String> storedUserId,
                          int pageDefaultLimit, int pageMaxLimit) {
        byte[] openApi = openApiDocument();
        return Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.defaultContentType = "application/json";

            config.routes.beforeMatched(ctx -> {
                if (!PUBLIC_PATHS.contains(ctx.path())) {
                    guard.admit(ctx.header("Authorization"));
                }
            });

            config.routes.get("/healthz", ctx -> {
                if (queries.healthy()) json(ctx, 200, JSON.createObjectNode().put("status", "ok"));
                else error(ctx, new ApiError(503, "database_unavailable", "PostgreSQL does not answer"));
            });
            config.routes.get("/v1/openapi.json", ctx -> ctx.status(200).contentType("application/json").result(openApi));
            config.routes.get("/v1/users/{id}", ctx -> json(ctx, 200, queries.user(storedUserId.apply(ctx.pathParam("id")))));
            config.routes.get("/v1/segments/{name}/members", ctx -> {
                String segment = ctx.pathParam("name");
                int limit = limit(ctx.queryParam("limit"), pageDefaultLimit, pageMaxLimit);
                Optional<MemberCursor> cursor = Optional.ofNullable(ctx.queryParam("cursor"))
                        .filter(c -> !c.isEmpty())
                        .map(c -> MemberCursor.decode(c, segment));
                json(ctx, 200, queries.segmentMembers(segment, cursor, limit));
            });
            config.routes.get("/v1/patterns", ctx -> json(ctx, 200, queries.patterns()));

            config.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, new ApiError(e.getStatus(),
                    e.getStatus() == 404 ? "not_found" : e.getStatus() == 405 ? "method_not_allowed" : "http_" + e.getStatus(),
                    e.getMessage())));
            config.routes.exception(SQLException.class, (e, ctx) -> {
                LOG.warn("PostgreSQL failed a request to {}: {}", ctx.path(), e.toString());
                error(ctx, new ApiError(503, "database_unavailable", "PostgreSQL failed to answer; retry later"));
            });
            config.routes.exception(Exception.class, (e, ctx) -> {
                LOG.error("request to {} failed", ctx.path(), e);
                error(ctx, new ApiError(500, "internal_error", "the server failed to answer"));
            });
        });
    }

    /** {@code ?limit}: absent is the default; outside 1..max is refused rather than quietly changed. */
    static int limit(String param, int defaultLimit, int maxLimit) {
        if (param == null || param.isEmpty()) return defaultLimit;
        int n;
        try {
            n = Integer.parseInt(param);
        } catch (NumberFormatException e) {
            throw ApiError.badRequest("invalid_limit", "limit must be a whole number from 1 to " + maxLimit);
        }
        if (n < 1 || n > maxLimit) throw ApiError.badRequest("invalid_limit", "limit must be from 1 to " + maxLimit);
        return n;
    }

    private static void json(Context ctx, int status, ObjectNode body) throws JsonProcessingException {
        ctx.status(status).contentType("application/json").result(JSON.writeValueAsBytes(body));
    }

    private static void error(Context ctx, ApiError e) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode err = body.putObject("error");
        err.put("code", e.code());
        err.put("message", e.getMessage());
        if (e.retryAfterSeconds() > 0) ctx.header("Retry-After", Long.toString(e.retryAfterSeconds()));
        try {
            json(ctx, e.status(), body);
        } catch (JsonProcessingException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    static byte[] openApiDocument() {
        try (InputStream in = ServeServer.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) throw new IllegalStateException(OPENAPI_RESOURCE + " is missing from the classpath");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The routes the application serves, as {@code "GET /v1/users/{id}"}. */
    static List<String> routes(Javalin app) {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(p -> p.endpoint)
                .filter(e -> HTTP_METHODS.contains(e.method.name())) // not the before/after handlers
                .map(e -> e.method.name() + " " + e.path)
                .sorted()
                .toList();
    }

    public List<String> routes() {
        return routes(app);
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
        if (pool != null) pool.close();
    }

}
