package dev.gpudev.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The API's contract (an OpenAPI 3.1 document kept beside the code) and its Swagger UI page. */
final class OpenApi {
    private static final String DOCUMENT = load();

    private OpenApi() {
    }

    static String document() {
        return DOCUMENT;
    }

    static String swaggerPage() {
        return """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>gpudev API</title>
                <link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
                <body><div id="swagger-ui"></div>
                <script src="/docs/assets/swagger-ui-bundle.js"></script>
                <script>window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'});</script>
                </body></html>
                """;
    }

    private static String load() {
        try (InputStream in = OpenApi.class.getResourceAsStream("/dev/gpudev/api/openapi.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
