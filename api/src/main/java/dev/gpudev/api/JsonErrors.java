package dev.gpudev.api;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The errors Jetty answers itself, before any route (a malformed request line, a URI or headers too
 * large, a NUL in the path): JSON like every other error, {"error": code, "message": text}, never an
 * HTML page, and never an echo of what was sent.
 */
final class JsonErrors extends ErrorHandler {

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(body(status).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    protected void generateAcceptableResponse(Request baseRequest, HttpServletRequest request, HttpServletResponse response,
                                              int code, String message) throws IOException {
        baseRequest.setHandled(true);
        response.setContentType("application/json");
        response.getOutputStream().write(body(code).getBytes(StandardCharsets.UTF_8));
    }

    static String body(int status) {
        String code = switch (status) {
            case 400 -> "bad_request";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 413 -> "payload_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            default -> status >= 500 ? "internal" : "bad_request";
        };
        String message = switch (status) {
            case 400 -> "the request is malformed (its line, a header, or the path's characters)";
            case 413 -> "the body is larger than " + Bodies.MAX_BYTES + " bytes";
            case 414 -> "the URI is too long";
            case 431 -> "the request's headers are too large";
            default -> "the request could not be handled (" + status + ")";
        };
        return "{\"error\":\"" + code + "\",\"message\":\"" + message + "\"}";
    }
}
