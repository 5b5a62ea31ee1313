package dev.gpudev.api;

import dev.gpudev.store.UiSessions;
import java.time.Clock;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.Database;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Tokens;
import dev.gpudev.store.User;
import dev.gpudev.store.Users;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Logging in (a token from an admin, or AWS), and a user's API keys: rotate, list, revoke. */
final class AuthRoutes {
    private static final Logger log = LoggerFactory.getLogger(AuthRoutes.class);

    private final Database db;
    private final Users users;
    private final ApiKeys apiKeys;
    private final Clock clock;
    private final ApiConfig config;
    private final UiSessions uiSessions;
    private final AwsLogin awsLogin;
    private final VerifiedKeys verified;

    AuthRoutes(Database db, Users users, ApiKeys apiKeys, Clock clock, ApiConfig config, UiSessions uiSessions, VerifiedKeys verified) {
        this.db = db;
        this.users = users;
        this.apiKeys = apiKeys;
        this.clock = clock;
        this.config = config;
        this.uiSessions = uiSessions;
        this.verified = verified;
        this.awsLogin = new AwsLogin(config.aws());
    }

    void register(Router r) {
        r.post("/v1/auth/token-login", Access.ANYONE, this::tokenLogin);
        r.post("/v1/auth/aws-login", Access.ANYONE, this::awsLogin);
        r.post("/v1/keys/rotate", Access.USER_WITH_KEY, this::rotateKey);
        r.get("/v1/keys", Access.USER, this::listKeys);
        r.delete("/v1/keys/{id}", Access.USER, this::revokeKey);
    }

    private void tokenLogin(Context ctx) {
        JsonNode body = Bodies.only(Bodies.json(ctx), "token");
        String token = Bodies.string(body, "token", true, 512);
        Instant now = clock.instant();
        Map<String, Object> out = db.inTransaction(c -> {
            Users.Invite invite = users.lockInvite(c, Tokens.sha256Hex(token.trim()))
                    .orElseThrow(() -> ApiError.unauthorized("unknown login token: ask an admin for `gpu-dev admin invite`"));
            if (invite.usedAt() != null) {
                throw ApiError.unauthorized("this login token was already used: ask an admin for a new one"
                        + (invite.admin() ? " (the server's admin: gpu-dev server admin-token)" : ""));
            }
            if (invite.expiresAt() != null && !invite.expiresAt().isAfter(now)) {
                throw ApiError.unauthorized("this login token expired: ask an admin for a new one");
            }
            User user = users.ensure(c, invite.username(), invite.admin());
            if (!user.active()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            users.markInviteUsed(c, invite.inviteId(), now); // every token works once, the bootstrap token too
            return issueKey(c, user, now, "token login");
        });
        verified.forgetAll(); // a sixth key ends the oldest: this replica forgets before it answers
        ctx.attribute(RequestAttributes.AUDIT_USER, (String) out.get("username"));
        log.info("login: user '{}' via token", out.get("username"));
        ctx.json(out);
    }

    private void awsLogin(Context ctx) {
        JsonNode body = Bodies.only(Bodies.json(ctx), "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "sts_request");
        AwsLogin.Identity id;
        JsonNode signed = body.get("sts_request");
        if ((signed == null || signed.isNull()) && body.get("aws_access_key_id") == null) {
            throw ApiError.badRequest("send sts_request (what `gpu-dev login` signs) or aws_access_key_id and aws_secret_access_key");
        }
        awsLogin.requireEnabled();
        if (signed != null && !signed.isNull()) {
            if (!signed.isObject() || !signed.path("headers").isObject()) {
                throw ApiError.badRequest("sts_request must be {url, headers, body}");
            }
            Map<String, String> headers = new LinkedHashMap<>();
            signed.get("headers").properties().forEach(e -> {
                if (!e.getValue().isTextual()) {
                    throw ApiError.badRequest("sts_request.headers values must be strings");
                }
                headers.put(e.getKey(), e.getValue().asText());
            });
            if (headers.size() > 30) {
                throw ApiError.badRequest("sts_request.headers has too many headers");
            }
            id = awsLogin.withSignedRequest(Bodies.string(signed, "url", true, 512), headers, Bodies.string(signed, "body", true, 512));
        } else {
            String akid = Bodies.string(body, "aws_access_key_id", true, 128);
            String secret = Bodies.string(body, "aws_secret_access_key", true, 256);
            String token = Bodies.string(body, "aws_session_token", false, 4096);
            id = awsLogin.withCredentials(akid, secret, token);
        }
        Instant now = clock.instant();
        Map<String, Object> out = db.inTransaction(c -> {
            User user = switch (users.ensureAws(c, id.username(), id.arn())) {
                case Users.AwsSignIn.Ok ok -> ok.user();
                case Users.AwsSignIn.Taken taken -> throw ApiError.forbidden(taken.byInvitation()
                        ? "user " + taken.username() + " was invited, not made by an AWS login: log in with a token from an admin"
                        : "user " + taken.username() + " belongs to another AWS identity: use your own session name");
            };
            if (!user.active()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            Map<String, Object> issued = issueKey(c, user, now, "aws login as " + id.arn());
            issued.put("aws_arn", id.arn());
            return issued;
        });
        verified.forgetAll();
        ctx.attribute(RequestAttributes.AUDIT_USER, id.username());
        log.info("login: user '{}' via AWS ({})", id.username(), id.arn());
        ctx.json(out);
    }

    /** A user holds at most this many live keys: a new one past it revokes the oldest. */
    static final int MAX_LIVE_KEYS = 5;

    private Map<String, Object> issueKey(Connection c, User user, Instant now, String description) throws SQLException {
        String key = Tokens.newSecret();
        Instant expires = now.plus(config.apiKeyTtl());
        apiKeys.insert(c, user.userId(), Tokens.sha256Hex(key), Tokens.prefix(key), expires, description);
        apiKeys.keepNewest(c, user.userId(), MAX_LIVE_KEYS, now);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("api_key", key);
        out.put("key_prefix", Tokens.prefix(key));
        out.put("user_id", user.userId());
        out.put("username", user.username());
        out.put("is_admin", user.admin());
        out.put("expires_at", expires);
        out.put("ttl_hours", java.math.BigDecimal.valueOf(config.apiKeyTtl().toMinutes())
                .divide(java.math.BigDecimal.valueOf(60), 4, java.math.RoundingMode.HALF_UP).stripTrailingZeros());
        return out;
    }

    private void rotateKey(Context ctx) {
        Caller who = Callers.of(ctx);
        boolean revokeOld = Bodies.bool(Bodies.only(Bodies.json(ctx), "revoke_old"), "revoke_old");
        Instant now = clock.instant();
        Map<String, Object> out = db.inTransaction(c -> {
            User user = users.findById(c, who.userId()).orElseThrow();
            Map<String, Object> issued = issueKey(c, user, now, "rotated from key " + who.keyId());
            if (revokeOld) {
                apiKeys.revoke(c, who.keyId(), who.userId());
            }
            return issued;
        });
        verified.forgetAll();
        out.put("old_key_revoked", revokeOld);
        ctx.json(out);
    }

    private void listKeys(Context ctx) {
        Caller who = Callers.of(ctx);
        var keys = db.query(c -> apiKeys.forUser(c, who.userId()));
        ctx.json(Map.of("keys", keys.stream().map(k -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("key_id", k.keyId());
            m.put("key_prefix", k.keyPrefix());
            m.put("created_at", k.createdAt());
            m.put("expires_at", k.expiresAt());
            m.put("last_used_at", k.lastUsedAt());
            m.put("is_active", k.active());
            m.put("current", k.keyId() == who.keyId());
            return m;
        }).toList()));
    }

    private void revokeKey(Context ctx) {
        Caller who = Callers.of(ctx);
        long id = Params.id(ctx.pathParam("id"), "key");
        boolean revoked = db.inTransaction(c -> {
            if (!apiKeys.revoke(c, id, who.admin() ? null : who.userId())) {
                return false;
            }
            // An admin taking away someone's key takes away their dashboard sessions too.
            int ended = uiSessions.endForKeyOwnerOtherThan(c, id, who.userId());
            if (ended > 0) {
                log.info("admin '{}' revoked key {}: {} dashboard session(s) of its user ended", who.username(), id, ended);
            }
            return true;
        });
        verified.forgetAll();
        if (!revoked) {
            throw ApiError.notFound("no active key " + id + " of yours");
        }
        ctx.status(204);
    }
}
