package dev.gpudev.cli;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 exchange per connection, over a plain or TLS socket (the host name checked against the
 * certificate, as HTTPS requires). The CLI's only HTTP: {@code java.net.URL} looks for protocol handlers
 * across the whole class path on first use and {@code java.net.http} sets up TLS even for plain HTTP,
 * each a good part of a short command's start-up; this is what the CLI needs of HTTP and nothing more.
 */
final class Http {
    /** Answers above this are refused: the API never sends them. */
    static final int MAX_BODY = 64 << 20;

    private final SSLSocketFactory tls;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;

    Http(SSLSocketFactory tls, int connectTimeoutMs, int readTimeoutMs) {
        this.tls = tls;
        this.connectTimeoutMs = connectTimeoutMs;
        this.readTimeoutMs = readTimeoutMs;
    }

    /** With the JVM's trust store. */
    static Http standard() {
        return new Http(null, 5_000, 30_000);
    }

    record Response(int status, String body) {
    }

    /** METHOD base+target with the given headers and body (null: none), the connection closed after the answer. */
    Response exchange(URI base, String method, String target, Map<String, String> headers, byte[] body) throws IOException {
        boolean secure = "https".equals(base.getScheme());
        String host = base.getHost();
        int port = base.getPort() > 0 ? base.getPort() : secure ? 443 : 80;
        String path = (base.getRawPath() == null ? "" : base.getRawPath().replaceAll("/+$", "")) + target;
        try (Socket socket = open(secure, host, port)) {
            socket.setSoTimeout(readTimeoutMs);
            StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(host.contains(":") ? "[" + host + "]" : host)
                    .append(base.getPort() > 0 ? ":" + port : "").append("\r\n")
                    .append("Connection: close\r\n").append("User-Agent: gpu-dev\r\n");
            for (Map.Entry<String, String> h : headers.entrySet()) {
                head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
            }
            if (body != null || method.equals("POST") || method.equals("PUT")) {
                head.append("Content-Length: ").append(body == null ? 0 : body.length).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) {
                out.write(body);
            }
            out.flush();
            return read(new BufferedInputStream(socket.getInputStream()), method.equals("HEAD"));
        }
    }

    private Socket open(boolean secure, String host, int port) throws IOException {
        Socket plain = new Socket();
        try {
            plain.connect(new InetSocketAddress(host, port), connectTimeoutMs);
            if (!secure) {
                return plain;
            }
            SSLSocketFactory factory = tls != null ? tls : (SSLSocketFactory) SSLSocketFactory.getDefault();
            SSLSocket s = (SSLSocket) factory.createSocket(plain, host, port, true);
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(p);
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    static Response read(InputStream in, boolean noBody) throws IOException {
        String status = line(in);
        if (status == null || !status.startsWith("HTTP/1.") || status.length() < 12) {
            throw new IOException("not an HTTP answer: " + (status == null ? "nothing" : status.substring(0, Math.min(40, status.length()))));
        }
        int code;
        try {
            code = Integer.parseInt(status.substring(9, 12));
        } catch (NumberFormatException e) {
            throw new IOException("not an HTTP status: " + status);
        }
        long length = -1;
        boolean chunked = false;
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int colon = h.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).trim();
            if (name.equals("content-length")) {
                try {
                    length = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length: " + value);
                }
            } else if (name.equals("transfer-encoding")) {
                chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
            }
        }
        if (code >= 100 && code < 200) {
            return read(in, noBody);
        }
        if (noBody || code == 204 || code == 304) {
            return new Response(code, "");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            for (long size = chunkSize(line(in)); size > 0; size = chunkSize(line(in))) {
                copy(in, body, size);
                line(in);
            }
        } else if (length >= 0) {
            copy(in, body, length);
        } else {
            byte[] buf = new byte[8192];
            for (int n = in.read(buf); n > 0; n = in.read(buf)) {
                if (body.size() + n > MAX_BODY) {
                    throw new IOException("the answer is too large");
                }
                body.write(buf, 0, n);
            }
        }
        return new Response(code, body.toString(StandardCharsets.UTF_8));
    }

    private static long chunkSize(String line) throws IOException {
        if (line == null) {
            throw new IOException("the answer ended early");
        }
        int semi = line.indexOf(';');
        try {
            return Long.parseLong((semi >= 0 ? line.substring(0, semi) : line).trim(), 16);
        } catch (NumberFormatException e) {
            throw new IOException("bad chunk size: " + line);
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream to, long n) throws IOException {
        if (n > MAX_BODY || to.size() + n > MAX_BODY) {
            throw new IOException("the answer is too large");
        }
        byte[] buf = new byte[8192];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) {
                throw new IOException("the answer ended early");
            }
            to.write(buf, 0, r);
            n -= r;
        }
    }

    /** A line without its CRLF (or LF); null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c = in.read(); ; c = in.read()) {
            if (c < 0) {
                return sb.isEmpty() ? null : sb.toString();
            }
            if (c == '\n') {
                int end = sb.length();
                return end > 0 && sb.charAt(end - 1) == '\r' ? sb.substring(0, end - 1) : sb.toString();
            }
            if (sb.length() > 16_384) {
                throw new IOException("a header line is too long");
            }
            sb.append((char) c);
        }
    }
}
