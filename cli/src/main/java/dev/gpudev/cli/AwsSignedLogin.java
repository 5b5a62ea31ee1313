package dev.gpudev.cli;

import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The body of an AWS login: a GetCallerIdentity request signed here with the user's credentials
 * (from the default chain: environment, profiles, SSO). The server sends it to STS itself, so the
 * secret key never leaves this machine.
 */
final class AwsSignedLogin {
    static final String BODY = "Action=GetCallerIdentity&Version=2011-06-15";

    private AwsSignedLogin() {
    }

    static Map<String, Object> request(Map<String, String> env) {
        String region = first(env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"), "us-east-1");
        String endpoint = first(env.get("AWS_ENDPOINT_URL_STS"), env.get("AWS_ENDPOINT_URL"), "https://sts." + region + ".amazonaws.com");
        AwsCredentials credentials;
        try (DefaultCredentialsProvider provider = DefaultCredentialsProvider.builder().build()) {
            credentials = provider.resolveCredentials();
        } catch (SdkClientException e) {
            throw new CliException(2, "no AWS credentials found (environment, ~/.aws profiles or SSO): run `aws sso login`, "
                    + "or log in with --token from an admin");
        }
        SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(URI.create(endpoint))
                .putHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8").build();
        var signed = AwsV4HttpSigner.create().sign(r -> r.identity(credentials).request(request)
                .payload(ContentStreamProvider.fromUtf8String(BODY))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sts")
                .putProperty(AwsV4HttpSigner.REGION_NAME, region));
        Map<String, String> headers = new LinkedHashMap<>();
        signed.request().headers().forEach((k, v) -> headers.put(k, String.join(",", v)));
        return Map.of("sts_request", Map.of("url", endpoint, "headers", headers, "body", BODY));
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return null;
    }
}
