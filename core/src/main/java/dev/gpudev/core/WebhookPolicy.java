package dev.gpudev.core;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;

/**
 * Where notifications may go: http(s) URLs only, without credentials in them; to the hosts an admin allows
 * ({@code --notify-allow-hosts}: names, or {@code *.example.com} for a domain; none given: any host), and
 * never to a loopback, private, link-local or otherwise internal address unless its host is allowed by
 * name. Checked when a URL is registered and again, on the addresses it resolves to then, before each
 * delivery (so a name that later points inside is refused).
 */
public record WebhookPolicy(List<String> allowHosts) {
    public WebhookPolicy {
        allowHosts = allowHosts.stream().map(h -> h.trim().toLowerCase(Locale.ROOT)).filter(h -> !h.isEmpty()).toList();
    }

    public static WebhookPolicy anyPublicHost() {
        return new WebhookPolicy(List.of());
    }

    /** The URL checked for form and host; throws {@link ValidationException} saying why not. */
    public URI check(String url) {
        if (url == null || url.length() > 2048 || url.chars().anyMatch(c -> c <= 0x20 || c == 0x7f)) {
            throw new ValidationException("url must be an http(s) URL of at most 2048 characters, without spaces");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (java.net.URISyntaxException e) {
            throw new ValidationException("url is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null) {
            throw new ValidationException("url must be http:// or https:// with a host");
        }
        if (uri.getRawUserInfo() != null) {
            throw new ValidationException("url must not carry a user or password before the host");
        }
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        int port = uri.getPort();
        if (port != -1 && (port < 1 || port > 65535 || !named(host) && port != 80 && port != 443)) {
            throw new ValidationException("url: only ports 80 and 443, unless the admin allows the host by name (--notify-allow-hosts)");
        }
        if (!allowHosts.isEmpty() && !named(host)) {
            throw new ValidationException("notifications may go to " + String.join(", ", allowHosts) + " only (the admin's --notify-allow-hosts), not "
                    + host);
        }
        return uri;
    }

    /** Whether this host is allowed by name (then internal addresses are the admin's choice). */
    public boolean named(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        for (String a : allowHosts) {
            if (a.startsWith("*.") ? h.endsWith(a.substring(1)) : h.equals(a)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Why this host's addresses may not be sent to now, or null when they may: every address it resolves
     * to must be public, unless the host is allowed by name.
     */
    public String refusal(String host) {
        if (named(host)) {
            return null;
        }
        // One answer for "does not resolve" and "resolves inside": a user learns nothing of the internal network.
        String no = host + " does not resolve to a public address: only hosts an admin allows by name (--notify-allow-hosts) may be"
                + " internal";
        InetAddress[] all;
        try {
            all = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            return no;
        }
        for (InetAddress a : all) {
            if (internal(a)) {
                return no;
            }
        }
        return null;
    }

    static boolean internal(InetAddress a) {
        if (a.isLoopbackAddress() || a.isAnyLocalAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || a.isMulticastAddress()) {
            return true;
        }
        byte[] b = a.getAddress();
        if (b.length == 4) {
            return internal4(b, 0);
        }
        if ((b[0] & 0xfe) == 0xfc) {
            return true; // unique local (fc00::/7)
        }
        // IPv6 forms that carry an IPv4 address: compatible (::a.b.c.d), NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
        // 6to4 (2002::/16, the address in bytes 2-5) and Teredo (2001:0::/32, the client's address inverted in bytes 12-15)
        boolean zeros = true;
        for (int i = 0; i < 12; i++) {
            zeros &= b[i] == 0;
        }
        if (zeros || (b[0] == 0 && b[1] == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b)) {
            return internal4(b, 12);
        }
        if (b[0] == 0x20 && b[1] == 0x02) {
            return internal4(b, 2);
        }
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
            byte[] inv = new byte[4];
            for (int i = 0; i < 4; i++) {
                inv[i] = (byte) ~b[12 + i];
            }
            return internal4(inv, 0);
        }
        return false;
    }

    /** The IPv4 address at {@code at}: private, loopback, link-local, CGNAT, IETF (192.0.0.0/24), benchmarking, multicast or reserved. */
    private static boolean internal4(byte[] b, int at) {
        int first = b[at] & 0xff;
        int second = b[at + 1] & 0xff;
        int third = b[at + 2] & 0xff;
        return first == 0 || first == 10 || first == 127 || first == 169 && second == 254 || first == 172 && second >= 16 && second < 32
                || first == 192 && second == 168 || first == 100 && second >= 64 && second < 128
                || first == 192 && second == 0 && (third == 0 || third == 2) || first == 198 && (second == 18 || second == 19)
                || first == 198 && second == 51 && third == 100 || first == 203 && second == 0 && third == 113 || first >= 224;
    }
}
