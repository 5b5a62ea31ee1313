package dev.gpudev.api;

import com.sun.net.httpserver.HttpServer;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.AuditLog;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Json;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AWS login against a stand-in STS on 127.0.0.1 (no real STS is reachable here): it answers
 * GetCallerIdentity as STS does, by the access key in the SigV4 Authorization header.
 */
class AwsLoginTest {
    static HttpServer sts;
    static Database db;
    static ApiServer api;
    static String base;
    static String stsUrl;
    static final AtomicInteger STS_CALLS = new AtomicInteger();
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        sts = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        sts.createContext("/", ex -> {
            STS_CALLS.incrementAndGet();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String arn = null;
            if (auth != null && auth.contains("Credential=AKIDALICE/") && body.contains("Action=GetCallerIdentity")) {
                arn = "arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/alice@example.com";
            } else if (auth != null && auth.contains("Credential=AKIDOTHERACCOUNT/")) {
                // The same role name, made in an account of the attacker's own, with an admin's session name.
                arn = "arn:aws:sts::999999999999:assumed-role/SSOCloudDevGpuReservation/root";
            } else if (auth != null && auth.contains("Credential=AKIDDOTS/")) {
                arn = "arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/..";
            } else if (auth != null && auth.contains("Credential=AKIDINVITED/")) {
                arn = "arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/invited";
            } else if (auth != null && auth.contains("Credential=AKIDADMINROLE/")) {
                arn = "arn:aws:sts::123456789012:assumed-role/AdministratorAccess/mallory";
            } else if (auth != null && auth.contains("Credential=AKIDBROKEN/")) {
                ex.sendResponseHeaders(500, -1);
                ex.close();
                return;
            }
            byte[] out = (arn == null
                    ? "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>invalid</Message></Error><RequestId>r</RequestId></ErrorResponse>"
                    : "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>" + arn + "</Arn><UserId>AROA:x</UserId><Account>123456789012</Account>"
                    + "</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>")
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "text/xml");
            ex.sendResponseHeaders(arn == null ? 403 : 200, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        sts.start();
        stsUrl = "http://127.0.0.1:" + sts.getAddress().getPort();
        db = TestDatabase.fresh();
        Pgmq pgmq = new Pgmq();
        CommandQueue q = new CommandQueue(pgmq, "aws_q");
        q.ensureQueue(db);
        api = new ApiServer(ApiFixture.parts(db, pgmq, q, new Capacity(List.of()), Clock.systemUTC(),
                new ApiConfig(2, "127.0.0.1", 2222, 0, 1000, 1000,
                        new AwsLogin.Settings("SSOCloudDevGpuReservation", "us-east-1", URI.create(stsUrl), java.util.Set.of("123456789012"))))).start("127.0.0.1", 0);
        base = "http://127.0.0.1:" + api.port();
    }

    @AfterAll
    static void stop() {
        api.close();
        db.close();
        sts.stop(0);
    }

    static HttpResponse<String> login(String json) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/auth/aws-login")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        var problems = SchemaCheck.check("POST", "/v1/auth/aws-login", r.statusCode(), Json.MAPPER.readTree(r.body()));
        assertTrue(problems.isEmpty(), problems.toString());
        return r;
    }

    /** What the CLI sends: a GetCallerIdentity request signed with SigV4 by the caller. */
    static Map<String, Object> signed(String accessKey, String url) {
        SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(URI.create(url))
                .putHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8").build();
        var result = AwsV4HttpSigner.create().sign(r -> r.identity(AwsCredentialsIdentity.create(accessKey, "secret"))
                .request(request).payload(ContentStreamProvider.fromUtf8String(AwsLogin.GET_CALLER_IDENTITY))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sts").putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"));
        Map<String, String> headers = new LinkedHashMap<>();
        result.request().headers().forEach((k, v) -> headers.put(k, String.join(",", v)));
        return Map.of("sts_request", Map.of("url", url, "headers", headers, "body", AwsLogin.GET_CALLER_IDENTITY));
    }

    @Test
    void credentialsOfTheAllowedRoleGetAKeyNamedAfterTheSession() throws Exception {
        var r = login("{\"aws_access_key_id\":\"AKIDALICE\",\"aws_secret_access_key\":\"s\",\"aws_session_token\":\"t\"}");
        assertEquals(200, r.statusCode(), r.body());
        var body = Json.MAPPER.readTree(r.body());
        assertEquals("alice_example.com", body.get("username").asText());
        assertEquals("arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/alice@example.com", body.get("aws_arn").asText());
        assertEquals(2, body.get("ttl_hours").asInt());
    }

    @Test
    void aSignedRequestIsForwardedToOurStsAndNoSecretIsSent() throws Exception {
        var r = login(Json.write(signed("AKIDALICE", stsUrl)));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("alice_example.com", Json.MAPPER.readTree(r.body()).get("username").asText());
    }

    @Test
    void aSignedRequestForAnotherHostIsRefusedWithoutSendingIt() throws Exception {
        int before = STS_CALLS.get();
        var r = login(Json.write(signed("AKIDALICE", "http://169.254.169.254:80")));
        assertEquals(400, r.statusCode(), r.body());
        assertEquals(before, STS_CALLS.get(), "the server never sends to a URL taken from the request");
        var body = login(Json.write(Map.of("sts_request", Map.of("url", stsUrl, "headers", Map.of("Authorization", "x"), "body", "Action=AssumeRole"))));
        assertEquals(400, body.statusCode());
    }

    @Test
    void anotherRoleIs403InvalidCredentials401AndStsDown503() throws Exception {
        assertEquals(403, login("{\"aws_access_key_id\":\"AKIDADMINROLE\",\"aws_secret_access_key\":\"s\"}").statusCode());
        assertEquals(401, login("{\"aws_access_key_id\":\"AKIDNOBODY\",\"aws_secret_access_key\":\"s\"}").statusCode());
        assertEquals(401, login(Json.write(signed("AKIDNOBODY", stsUrl))).statusCode());
        assertEquals(503, login("{\"aws_access_key_id\":\"AKIDBROKEN\",\"aws_secret_access_key\":\"s\"}").statusCode());
        assertEquals(400, login("{\"aws_access_key_id\":\"AKIDALICE\"}").statusCode());
    }

    @Test
    void anUnreachableStsIs503() throws Exception {
        var down = new ApiServer(ApiFixture.parts(db, new Pgmq(), new CommandQueue(new Pgmq(), "aws_q"), new Capacity(List.of()),
                Clock.systemUTC(), new ApiConfig(2, "127.0.0.1", 2222, 0, 1000, 1000,
                        new AwsLogin.Settings("SSOCloudDevGpuReservation", "us-east-1", URI.create("http://127.0.0.1:1"), java.util.Set.of("123456789012"))))).start("127.0.0.1", 0);
        try {
            var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + down.port() + "/v1/auth/aws-login"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"aws_access_key_id\":\"AKIDALICE\",\"aws_secret_access_key\":\"s\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode(), r.body());
            assertTrue(r.body().contains("sts_unavailable"));
        } finally {
            down.close();
        }
    }

    @Test
    void anotherAccountsRoleOfTheSameNameIsRefusedWhateverItsSessionName() throws Exception {
        var r = login("{\"aws_access_key_id\":\"AKIDOTHERACCOUNT\",\"aws_secret_access_key\":\"s\"}");
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().contains("999999999999"), r.body());
    }

    @Test
    void anAwsIdentityNeverSignsInToAnInvitedUserNorUsesANameThatIsNoName() throws Exception {
        db.inTransaction(c -> new dev.gpudev.store.Users().ensure(c, "invited", false));
        var invited = login("{\"aws_access_key_id\":\"AKIDINVITED\",\"aws_secret_access_key\":\"s\"}");
        assertEquals(403, invited.statusCode(), invited.body());
        assertTrue(invited.body().contains("invited"), invited.body());
        var dots = login("{\"aws_access_key_id\":\"AKIDDOTS\",\"aws_secret_access_key\":\"s\"}");
        assertEquals(403, dots.statusCode(), dots.body());
        var again = login("{\"aws_access_key_id\":\"AKIDALICE\",\"aws_secret_access_key\":\"s\"}");
        assertEquals(200, again.statusCode(), "the identity that made a user signs in to it again: " + again.body());
        String principal = db.query(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("select aws_principal from api_users where username = 'alice_example.com'")) {
                rs.next();
                return rs.getString(1);
            }
        });
        assertEquals("arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/alice@example.com", principal, "recorded on the user");
    }

    @Test
    void awsLoginIsOffUntilAccountsAreAllowed() throws Exception {
        var off = new ApiServer(ApiFixture.parts(db, new Pgmq(), new CommandQueue(new Pgmq(), "aws_q"), new Capacity(List.of()),
                Clock.systemUTC(), new ApiConfig(2, "127.0.0.1", 2222, 0, 1000, 1000,
                        new AwsLogin.Settings("SSOCloudDevGpuReservation", "us-east-1", URI.create(stsUrl), java.util.Set.of()))))
                .start("127.0.0.1", 0);
        try {
            int before = STS_CALLS.get();
            var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + off.port() + "/v1/auth/aws-login"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"aws_access_key_id\":\"AKIDALICE\",\"aws_secret_access_key\":\"s\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(403, r.statusCode(), r.body());
            assertTrue(r.body().contains("aws_login_disabled"), r.body());
            assertEquals(before, STS_CALLS.get(), "STS is not even asked");
        } finally {
            off.close();
        }
    }
}
