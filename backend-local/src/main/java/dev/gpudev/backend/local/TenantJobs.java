package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the platform does in a tenant's files, done as the tenant: never by the server's own uid on paths
 * the tenant controls. A home is the tenant's: a link, a FIFO or a directory swapped in at any moment is
 * theirs to make, and only their own uid meets it.
 *
 * <ul>
 *   <li>In a running environment (notices, terminal messages, clearing notices): a short script in the
 *       box, entered as its owner (its mount namespace, its uid, no capabilities), with a deadline.</li>
 *   <li>On a disk no environment runs (a listing, a deletion): the server opens the disk's directory (its
 *       parent is the server's, so the tenant cannot swap it), then drops to the disk owner's uid before
 *       anything below it is looked at; the tenant's uid cannot reach the data dir or another user's files
 *       through any link it made.</li>
 * </ul>
 * Every job has a deadline and is killed at it with everything it started; output is bounded.
 */
final class TenantJobs {
    /** A notice: the file at that name (only a plain file or nothing is replaced), then the terminals of the environment. */
    private static final String NOTICE = """
            f="$HOME/$1"
            if [ -e "$f" ] || [ -L "$f" ]; then
              if [ -L "$f" ] || [ ! -f "$f" ]; then f=""; fi
            fi
            if [ -n "$f" ]; then
              t=$(mktemp "$HOME/.gpudev-notice.XXXXXX") || exit 1
              if printf '%s\\n' "$2" > "$t"; then mv -f -T -- "$t" "$f" || rm -f -- "$t"; else rm -f -- "$t"; fi
            fi
            seen=" "
            for p in /proc/[0-9]*; do
              tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qxF "GPU_DEV_ENVIRONMENT=$3" || continue
              tty=$(readlink "$p/fd/0" 2>/dev/null) || continue
              case "$tty" in /dev/pts/[0-9]*) ;; *) continue ;; esac
              case "$seen" in *" $tty "*) continue ;; esac
              seen="$seen$tty "
              [ -c "$tty" ] && [ -O "$tty" ] || continue
              timeout -s KILL 1 sh -c 'printf "\\r\\n*** %s ***\\r\\n" "$1" > "$2"' gpudev-wall "$2" "$tty" 2>/dev/null
            done
            exit 0
            """;

    /** Notices whose names start with a prefix go: files and links only (never followed), nothing else. */
    private static final String CLEAR = """
            cd "$HOME" || exit 0
            for prefix in "$@"; do
              find . -mindepth 1 -maxdepth 1 -name "$prefix*" \\( -type f -o -type l \\) -delete 2>/dev/null
            done
            exit 0
            """;

    /** A batch run's end as its owner left it: the recorded code (a line, maybe empty), then the end of its log. */
    private static final String RUN_END = """
            d="$HOME/.gpudev/runs"
            [ -f "$d/$1.exit" ] && [ ! -L "$d/$1.exit" ] && head -c 12 -- "$d/$1.exit" | tr -dc 0-9
            echo
            [ -f "$d/$1.log" ] && [ ! -L "$d/$1.log" ] && tail -c "$2" -- "$d/$1.log"
            exit 0
            """;

    /** Entries visited by a listing at most: past it the total is a lower bound and the listing is cut short. */
    static final int LISTING_VISITS = 200_000;
    /** What a job may print at most (a tree of deep, long names prints a lot): past it, it is stopped there. */
    static final int MAX_OUTPUT_BYTES = 16 << 20;

    private TenantJobs() {
    }

    /** Writes a notice into a running environment's home and onto its terminals, as its owner, inside its box. */
    static void notice(Box box, String environment, String fileName, String message, Duration deadline) throws BackendException {
        run(box.command(List.of("/bin/sh", "-c", NOTICE, "gpudev-notice", fileName, message, environment), Map.of()), deadline,
                "writing notice " + fileName + " of " + environment);
    }

    /**
     * A batch run's recorded exit code (null when none was) and the last {@code tailBytes} of its log, read as
     * the environment's owner inside its box: a link or a FIFO put there reads as nothing, never as the server.
     */
    static Map.Entry<Integer, String> runEnd(Box box, String environment, int tailBytes, Duration deadline) throws BackendException {
        Output out = run(box.command(List.of("/bin/sh", "-c", RUN_END, "gpudev-run-end", environment, Integer.toString(tailBytes)), Map.of()),
                deadline, "reading the end of the run of " + environment, Integer.MAX_VALUE, (byte) 0);
        String text = new String(out.bytes(), java.nio.charset.StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        String first = nl < 0 ? text : text.substring(0, nl);
        Integer code = null;
        if (!first.isEmpty() && first.length() <= 9) {
            code = Integer.valueOf(first);
        }
        return new java.util.AbstractMap.SimpleImmutableEntry<>(code, nl < 0 ? "" : text.substring(nl + 1));
    }

    /** Removes notices whose names start with any of the prefixes from a running environment's home, as its owner. */
    static void clear(Box box, String environment, List<String> prefixes, Duration deadline) throws BackendException {
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", CLEAR, "gpudev-clear"));
        cmd.addAll(prefixes);
        run(box.command(cmd, Map.of()), deadline, "clearing notices of " + environment);
    }

    /**
     * The uid that owns a tenant's directory (a home, a disk), read without following a link; refused when
     * it is not a directory, or (with the server as root) not owned by a tenant's uid.
     */
    static int ownerOf(Path dir, int uidBase) throws BackendException {
        try {
            var attrs = Files.readAttributes(dir, "unix:uid,isDirectory,isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
            if (!(Boolean) attrs.get("isDirectory") || (Boolean) attrs.get("isSymbolicLink")) {
                throw new BackendException(dir.getFileName() + " is not a directory", false);
            }
            int uid = (Integer) attrs.get("uid");
            if (Accounts.serverIsRoot() && (uidBase < 0 ? uid != 0 : uid < uidBase)) {
                throw new BackendException(dir.getFileName() + " is owned by uid " + uid + ", not by one of the platform's users", false);
            }
            return uid;
        } catch (IOException e) {
            throw new BackendException("cannot look at " + dir.getFileName() + ": " + e.getMessage(), true, e);
        }
    }

    /**
     * A directory's entries, as its owner: at most {@code limit}, shallowest first, links listed and never
     * followed, and the bytes of every regular file visited.
     */
    static DiskListing list(Path dir, int uid, int limit, Duration deadline) throws BackendException {
        Output printed = run(asOwnerIn(dir, uid, deadline, List.of("/usr/bin/find", ".", "-mindepth", "1", "-printf", "%d\\t%y\\t%s\\t%T@\\t%P\\0")),
                deadline, "listing " + dir.getFileName(), LISTING_VISITS, (byte) 0);
        byte[] out = printed.bytes();
        List<String[]> rows = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                String[] f = new String(out, start, i - start, StandardCharsets.UTF_8).split("\t", 5);
                if (f.length == 5) {
                    rows.add(f);
                }
                start = i + 1;
            }
        }
        boolean cut = rows.size() >= LISTING_VISITS || printed.cut();
        long bytes = 0;
        for (String[] f : rows) {
            if (f[1].equals("f")) {
                bytes += Long.parseLong(f[2]);
            }
        }
        rows.sort(Comparator.comparingInt((String[] f) -> Integer.parseInt(f[0])).thenComparing(f -> f[4]));
        List<DiskListing.Entry> entries = new ArrayList<>();
        for (String[] f : rows.subList(0, Math.min(limit, rows.size()))) {
            boolean file = f[1].equals("f");
            double seconds = Double.parseDouble(f[3]);
            entries.add(new DiskListing.Entry(f[4], file ? Long.parseLong(f[2]) : 0, f[1].equals("d"),
                    Instant.ofEpochSecond((long) seconds, (long) ((seconds - Math.floor(seconds)) * 1e9))));
        }
        return new DiskListing(entries, cut || rows.size() > limit, bytes);
    }

    /**
     * The bytes a directory holds, counted as its owner (links are not followed, other file systems not
     * entered): the larger of what it takes on disk and what its files say they hold, so that a sparse file
     * counts at its size (its holes could be filled later without growing it).
     */
    static long usage(Path dir, int uid, Duration deadline) throws BackendException {
        byte[] out = run(asOwnerIn(dir, uid, deadline, List.of("/bin/sh", "-c",
                        "/usr/bin/du -s -x --block-size=1 . && /usr/bin/du -s -x --block-size=1 --apparent-size .")),
                deadline, "measuring " + dir.getFileName(), 2, (byte) '\n').bytes();
        String text = new String(out, StandardCharsets.UTF_8).trim();
        try {
            long most = 0;
            for (String line : text.split("\n")) {
                most = Math.max(most, Long.parseLong(line.trim().split("\\s+")[0]));
            }
            return most;
        } catch (RuntimeException e) {
            throw new BackendException("could not measure " + dir.getFileName() + ": " + text, true);
        }
    }

    /** Everything in a directory, removed as its owner (links are removed, never followed); the directory itself stays. */
    static void empty(Path dir, int uid, Duration deadline) throws BackendException {
        run(asOwnerIn(dir, uid, deadline, List.of("/usr/bin/find", ".", "-mindepth", "1", "-delete")), deadline, "emptying " + dir.getFileName());
    }

    /**
     * The command that runs cmd as uid with the directory as its working directory: entered by the server
     * (whose path it is), then the uid dropped, all groups and capabilities with it, before cmd starts.
     */
    private static List<String> asOwnerIn(Path dir, int uid, Duration deadline, List<String> cmd) {
        // timeout(1) kills it at the deadline even while the server is blocked reading its output
        List<String> c = new ArrayList<>(List.of("/usr/bin/timeout", "-s", "KILL", Long.toString(Math.max(1, deadline.toSeconds())),
                "/bin/sh", "-c", "cd -P -- \"$1\" && shift && exec \"$@\"", "gpudev-as-owner", dir.toString()));
        if (Accounts.serverIsRoot()) {
            c.addAll(List.of("/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--"));
        }
        c.addAll(cmd);
        return c;
    }

    private static void run(List<String> cmd, Duration deadline, String what) throws BackendException {
        run(cmd, deadline, what, 0, (byte) 0);
    }

    /**
     * Runs a job with an empty environment; kills it (and what it started) at the deadline. With maxRecords
     * above zero, stdout is read up to that many NUL-terminated records and the job is stopped there.
     */
    /** What a job printed, and whether it was stopped before it was done (a bound reached). */
    private record Output(byte[] bytes, boolean cut) {
    }

    private static Output run(List<String> cmd, Duration deadline, String what, int maxRecords, byte separator) throws BackendException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        if (maxRecords == 0) {
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        }
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new BackendException(what + ": " + e.getMessage(), true, e);
        }
        long until = System.nanoTime() + deadline.toNanos();
        try {
            Output out = new Output(new byte[0], false);
            if (maxRecords > 0) {
                out = readRecords(p, maxRecords, until, separator);
            }
            long left = until - System.nanoTime();
            if (out.cut()) {
                return out; // stopped on purpose at a bound
            }
            if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
                kill(p);
                throw new BackendException(what + " did not finish within " + deadline.toSeconds() + " s", true);
            }
            return out;
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new BackendException(what + ": interrupted", true, e);
        } catch (IOException e) {
            kill(p);
            throw new BackendException(what + ": " + e.getMessage(), true, e);
        }
    }

    private static Output readRecords(Process p, int maxRecords, long until, byte separator) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        InputStream in = p.getInputStream();
        byte[] chunk = new byte[65536];
        int records = 0;
        while (records < maxRecords && System.nanoTime() < until) {
            int n = in.read(chunk);
            if (n < 0) {
                break;
            }
            if (buf.size() + n > MAX_OUTPUT_BYTES) {
                // keep whole records only, and stop it: what a tenant's tree makes it print is bounded
                byte[] all = buf.toByteArray();
                int last = all.length - 1;
                while (last >= 0 && all[last] != separator) {
                    last--;
                }
                kill(p);
                return new Output(java.util.Arrays.copyOf(all, last + 1), true);
            }
            for (int i = 0; i < n; i++) {
                if (chunk[i] == separator && ++records == maxRecords) {
                    buf.write(chunk, 0, i + 1);
                    kill(p);
                    return new Output(buf.toByteArray(), true);
                }
            }
            buf.write(chunk, 0, n);
        }
        return new Output(buf.toByteArray(), false);
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }
}
