package dev.gpudev.api;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Refuses a path with a "." or ".." segment, however it is spelled (%2e, %2E, %2f, backslashes), with a
 * JSON 400, before any handler: the static file handlers answered such paths with a 500 and a stack trace
 * in the log. No route has such a segment.
 */
public final class DotSegments implements Filter {
    static boolean has(String rawPath) {
        if (rawPath == null || rawPath.indexOf('.') < 0 && rawPath.indexOf('%') < 0 && rawPath.indexOf('\\') < 0) {
            return false; // nearly every request: no dot, no escape, nothing to look at
        }
        String p = rawPath.replaceAll("(?i)%2e", ".");
        for (String segment : p.split("[/\\\\]|(?i)%2f|(?i)%5c", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        if (request instanceof HttpServletRequest http && has(http.getRequestURI())) {
            HttpServletResponse out = (HttpServletResponse) response;
            out.setStatus(400);
            out.setContentType("application/json");
            out.getOutputStream().write("{\"error\":\"invalid_request\",\"message\":\"the path must not contain . or .. segments\"}"
                    .getBytes(StandardCharsets.UTF_8));
            return;
        }
        chain.doFilter(request, response);
    }
}
