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
        InetAddress[] all;
        try {
            all = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            return "the host " + host + " does not resolve";
        }
        for (InetAddress a : all) {
            if (internal(a)) {
                return host + " resolves to an internal address (" + a.getHostAddress() + "): only hosts an admin allows by name"
                        + " (--notify-allow-hosts) may be internal";
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
            int first = b[0] & 0xff;
            int second = b[1] & 0xff;
            return first == 0 || first == 100 && second >= 64 && second < 128 // carrier-grade NAT
                    || first == 198 && (second == 18 || second == 19) || first >= 224;
        }
        return (b[0] & 0xfe) == 0xfc; // IPv6 unique local (fc00::/7)
    }
}
