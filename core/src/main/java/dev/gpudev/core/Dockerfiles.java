package dev.gpudev.core;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * What the platform reads of a Dockerfile build's context before anything builds it: the Dockerfile in the
 * gzip'd tar, and the images it starts from (checked against the allowed registries at submit, on every backend).
 */
public final class Dockerfiles {
    public static final int MAX_DOCKERFILE = 512 * 1024;
    /** How much of a context is read looking for its Dockerfile (a tar bomb is not read to its end). */
    static final long MAX_SCAN = 256L << 20;

    private Dockerfiles() {
    }

    /**
     * The Dockerfile at the top of a gzip'd tar, as unpacking it leaves it: the last entry of that name wins (an
     * earlier one is overwritten), and it must be a regular file. IllegalArgumentException in words when there is
     * none, it is not a file, or it is too large.
     */
    public static String dockerfileOf(byte[] gzippedTar) {
        String found = null;
        boolean regular = false;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzippedTar))) {
            long read = 0;
            byte[] header = new byte[512];
            while (read < MAX_SCAN) {
                if (in.readNBytes(header, 0, 512) < 512) {
                    break;
                }
                read += 512;
                String name = field(header, 0, 100);
                if (name.isEmpty()) {
                    break;
                }
                String prefix = field(header, 345, 155);
                String full = ((prefix.isEmpty() ? "" : prefix + "/") + name).replaceFirst("^(\\./|/)+", "");
                String sizeField = field(header, 124, 12).trim();
                long size = sizeField.isEmpty() ? 0 : Long.parseLong(sizeField, 8);
                long padded = (size + 511) / 512 * 512;
                char type = (char) header[156];
                if (full.equals("Dockerfile")) {
                    regular = type == '0' || type == 0;
                    if (regular && size > MAX_DOCKERFILE) {
                        throw new IllegalArgumentException("the Dockerfile is larger than 512 KB");
                    }
                    found = regular ? new String(in.readNBytes((int) size), StandardCharsets.UTF_8) : null;
                    in.skipNBytes(regular ? padded - size : padded);
                } else {
                    in.skipNBytes(padded);
                }
                read += padded;
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalArgumentException("the build's context is not a gzip'd tar: " + e.getMessage());
        }
        if (found == null) {
            throw new IllegalArgumentException(regular ? "the build's context has no Dockerfile at its top"
                    : "the build's context has no Dockerfile at its top (a regular file, not a link)");
        }
        return found;
    }

    private static String field(byte[] h, int at, int len) {
        int end = at;
        while (end < at + len && h[end] != 0) {
            end++;
        }
        return new String(h, at, end - at, StandardCharsets.UTF_8);
    }

    /**
     * The images a Dockerfile starts from ({@code FROM image [AS name]}), not {@code scratch} nor an earlier
     * stage; IllegalArgumentException for a build argument in a FROM (the image must be known before the build).
     */
    public static Set<String> bases(String dockerfile) {
        Set<String> stages = new HashSet<>();
        Set<String> out = new LinkedHashSet<>();
        for (String raw : dockerfile.replace("\\\n", " ").split("\n")) {
            String line = raw.strip();
            if (!line.regionMatches(true, 0, "FROM ", 0, 5)) {
                continue;
            }
            List<String> words = new ArrayList<>(List.of(line.substring(5).strip().split("\\s+")));
            words.removeIf(w -> w.startsWith("--platform"));
            if (words.isEmpty()) {
                continue;
            }
            String image = words.get(0);
            if (image.contains("$")) {
                throw new IllegalArgumentException("FROM " + image + ": a build argument in FROM is not supported here (name the image)");
            }
            if (!image.equalsIgnoreCase("scratch") && !stages.contains(image.toLowerCase(Locale.ROOT))) {
                out.add(image);
            }
            if (words.size() >= 3 && words.get(1).equalsIgnoreCase("AS")) {
                stages.add(words.get(2).toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }
}
