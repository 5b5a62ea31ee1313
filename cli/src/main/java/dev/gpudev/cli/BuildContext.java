package dev.gpudev.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * What `reserve --dockerfile PATH [--build-context DIR]` sends: a gzip'd tar with {@code Dockerfile} at its
 * top and the context's files (what .gitignore and .dockerignore leave, no links), written the same way
 * every time (sorted, no times or owners), so the same Dockerfile and files have the same hash and are
 * built once.
 */
final class BuildContext {
    static final long MAX_DOCKERFILE = 512 * 1024;
    static final long MAX_BYTES = 64L << 20;

    /** The context's bytes and their hash ("sha256:HEX"). */
    record Packed(byte[] bytes, String hash, int files) {
    }

    private BuildContext() {
    }

    static Packed pack(Path dockerfile, Path context) throws IOException {
        if (!Files.isRegularFile(dockerfile)) {
            throw new CliException(2, "--dockerfile " + dockerfile + ": no such file");
        }
        if (Files.size(dockerfile) > MAX_DOCKERFILE) {
            throw new CliException(2, "--dockerfile " + dockerfile + " is larger than 512 KB");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int files = 0;
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            entry(gz, "Dockerfile", Files.readAllBytes(dockerfile), false);
            if (context != null) {
                if (!Files.isDirectory(context)) {
                    throw new CliException(2, "--build-context " + context + ": not a folder");
                }
                List<PathMatcher> ignored = dockerignore(context);
                for (String rel : Workdir.files(context)) {
                    if (rel.equals("Dockerfile") || ignored.stream().anyMatch(m -> m.matches(Path.of(rel)))) {
                        continue;
                    }
                    Path f = context.resolve(rel);
                    if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                        continue;
                    }
                    entry(gz, rel, Files.readAllBytes(f), Files.isExecutable(f));
                    files++;
                    if (out.size() > MAX_BYTES) {
                        throw new CliException(2, "the build's context is larger than 64 MiB gzip'd: leave out what the image does not need"
                                + " (.dockerignore)");
                    }
                }
            }
            gz.write(new byte[1024]); // the tar's end
        }
        byte[] bytes = out.toByteArray();
        if (bytes.length > MAX_BYTES) {
            throw new CliException(2, "the build's context is larger than 64 MiB gzip'd: leave out what the image does not need (.dockerignore)");
        }
        return new Packed(bytes, "sha256:" + dev.gpudev.core.Tokens.sha256Hex(bytes), files);
    }

    /** .dockerignore's patterns (globs relative to the context; '#' comments), as matchers. */
    private static List<PathMatcher> dockerignore(Path context) throws IOException {
        List<PathMatcher> out = new ArrayList<>();
        Path f = context.resolve(".dockerignore");
        if (!Files.isRegularFile(f)) {
            return out;
        }
        for (String line : Files.readAllLines(f)) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#") || l.startsWith("!")) {
                continue;
            }
            l = l.replaceFirst("^/", "").replaceFirst("/$", "");
            out.add(FileSystems.getDefault().getPathMatcher("glob:" + l));
            out.add(FileSystems.getDefault().getPathMatcher("glob:" + l + "/**"));
        }
        return out;
    }

    /** One file of a ustar archive: its header (no time, owner 0) and its content, padded to 512 bytes. */
    private static void entry(GZIPOutputStream gz, String name, byte[] content, boolean executable) throws IOException {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        String prefix = "";
        String base = name;
        if (n.length > 100) {
            int cut = name.lastIndexOf('/', 154);
            if (cut <= 0 || name.length() - cut - 1 > 100) {
                throw new CliException(2, "--build-context: a path is too long for the archive: " + name);
            }
            prefix = name.substring(0, cut);
            base = name.substring(cut + 1);
        }
        put(h, 0, base.getBytes(StandardCharsets.UTF_8), 100);
        octal(h, 100, 8, executable ? 0755 : 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, content.length);
        octal(h, 136, 12, 0);
        java.util.Arrays.fill(h, 148, 156, (byte) ' ');
        h[156] = '0';
        put(h, 257, "ustar\0".getBytes(StandardCharsets.US_ASCII), 6);
        put(h, 263, "00".getBytes(StandardCharsets.US_ASCII), 2);
        put(h, 345, prefix.getBytes(StandardCharsets.UTF_8), 155);
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        octal(h, 148, 7, sum);
        gz.write(h);
        gz.write(content);
        int pad = (512 - content.length % 512) % 512;
        gz.write(new byte[pad]);
    }

    private static void put(byte[] h, int at, byte[] b, int max) {
        System.arraycopy(b, 0, h, at, Math.min(b.length, max));
    }

    private static void octal(byte[] h, int at, int width, long value) {
        String s = Long.toOctalString(value);
        String padded = "0".repeat(Math.max(0, width - 1 - s.length())) + s;
        put(h, at, padded.getBytes(StandardCharsets.US_ASCII), width - 1);
        h[at + width - 1] = 0;
    }
}
