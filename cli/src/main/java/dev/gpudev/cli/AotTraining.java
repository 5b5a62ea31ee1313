package dev.gpudev.cli;


import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

/**
 * The training run for the launcher's AOT cache (JDK 25's {@code -XX:AOTCacheOutput}): the everyday
 * commands, run once against a stand-in API on 127.0.0.1 that stops with it, with a throwaway HOME, so
 * the classes they need are loaded, linked and cached. Hidden; output discarded. Nothing of the user's
 * is read or written. No lambdas on this path: a lambda spun here would put the class-file machinery
 * that spins it into the cache, loaded at every start.
 */
final class AotTraining implements Cli.Action {
    static Cli.Command command() {
        return Cli.Command.of("aot-training", "the training run of the launcher's AOT cache").hidden().action(new AotTraining());
    }

    private static final String JOB = """
            {"job_id":"2987c9c7-8aff-494b-8091-9b061b9bcf5a","user":"alice","status":"active","gpu_type":"h100",
             "gpu_count":1,"duration_hours":1,"name":"train","jupyter":false,"keep_when_idle":false,"disk_name":null,
             "no_persist":false,"image":null,"node_labels":{},"distributed":false,"created_at":"2026-01-01T10:00:00Z",
             "launched_at":"2026-01-01T10:00:01Z","expires_at":"2026-01-01T11:00:01Z","queue_position":null,
             "estimated_start_at":null,"pending_reason":null,"current_detailed_status":"running","failure_reason":null,
             "gpus":[0],"node":"n0","nodes":[{"rank":0,"node":"n0","gpu_count":1,"gpus":[0],"ssh_host":"127.0.0.1",
             "ssh_port":30000,"host_key_alias":"gpudev-2987c9c7"}],"connection":{"host":"127.0.0.1","port":30000,
             "user":"alice","proxy_host":"127.0.0.1","proxy_port":2222,"host_key_alias":"gpudev-2987c9c7"},
             "ssh_command":"ssh -J alice@127.0.0.1:2222 -p 30000 alice@127.0.0.1",
             "status_history":[{"status":"queued","at":"2026-01-01T10:00:00Z","reason":"submitted by alice"}]}""";
    private static final String AVAILABILITY = """
            {"gpu_types":[{"gpu_type":"h100","total":8,"in_use":1,"queued":0,"queued_gpus":0,"available":7,
             "max_per_node":8,"simulated":true}]}""";

    /**
     * The stand-in API on a plain server socket, one answer per connection (as the CLI asks): a job, its
     * list, the availability; 404 for the rest. Not com.sun.net.httpserver: it finds its provider by a
     * service lookup and reflection, which would bring the class-file machinery into the cache.
     */
    private static final class StandIn implements Runnable {
        private final ServerSocket server;

        StandIn(ServerSocket server) {
            this.server = server;
        }

        @Override
        public void run() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                    String request = in.readLine();
                    int length = 0;
                    for (String h = in.readLine(); h != null && !h.isEmpty(); h = in.readLine()) {
                        if (h.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                            length = Integer.parseInt(h.substring(15).trim());
                        }
                    }
                    in.skip(length);
                    String path = request == null ? "" : request.split(" ")[1].split("\\?")[0];
                    String body = path.equals("/v1/jobs") ? "{\"jobs\":[" + JOB + "],\"offset\":0,\"limit\":50}"
                            : path.startsWith("/v1/jobs/") ? JOB
                            : path.equals("/v1/gpu/availability") ? AVAILABILITY
                            : "{\"error\":\"not_found\",\"message\":\"not here\"}";
                    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                    OutputStream out = s.getOutputStream();
                    out.write(("HTTP/1.1 " + (body.startsWith("{\"error\"") ? "404 Not Found" : "200 OK") + "\r\nContent-Type: application/json"
                            + "\r\nContent-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.write(bytes);
                    out.flush();
                } catch (IOException | RuntimeException e) {
                    // closed at the end of the training, or a request it does not understand: the next one
                }
            }
        }
    }

    private static void delete(java.io.File f) {
        java.io.File[] children = f.listFiles();
        if (children != null) {
            for (java.io.File c : children) {
                delete(c);
            }
        }
        f.delete();
    }

    @Override
    public int run(Cli.Parsed parsed, java.io.PrintWriter ignoredOut, java.io.PrintWriter ignoredErr) throws IOException {
        ServerSocket api = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread standIn = new Thread(new StandIn(api), "aot-stand-in");
        standIn.setDaemon(true);
        standIn.start();
        // Not Files.createTempDirectory: its SecureRandom would bring security providers (and reflection) into the cache.
        java.io.File dir = new java.io.File(System.getProperty("java.io.tmpdir"), "gpudev-aot-" + System.nanoTime());
        if (!dir.mkdir() || !dir.setReadable(false, false) || !dir.setReadable(true, true)
                || !dir.setWritable(false, false) || !dir.setWritable(true, true) || !dir.setExecutable(false, false) || !dir.setExecutable(true, true)) {
            throw new IOException("cannot make a private directory " + dir);
        }
        Path home = dir.toPath();
        PrintStream out = System.out;
        PrintStream err = System.err;
        try {
            Settings settings = new Settings(Map.of("HOME", home.toString()));
            var creds = Json.object();
            creds.put("api_url", "http://127.0.0.1:" + api.getLocalPort());
            creds.put("api_key", "gpudev_training");
            creds.put("username", "alice");
            creds.put("expires_at", Instant.now().plus(1, ChronoUnit.DAYS).toString());
            creds.put("login", "token");
            settings.saveCredentials(creds);
            PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
            System.setOut(nowhere);
            System.setErr(nowhere);
            Map<String, String> env = Map.of("HOME", home.toString(), "TERM", "dumb");
            int failed = 0;
            for (List<String> line : List.of(List.of("--help"), List.of("--version"), List.of("list"), List.of("list", "-o", "json"),
                    List.of("show", "train"), List.of("avail"), List.of("reserve", "--help"))) {
                failed += Main.run(line.toArray(new String[0]), env) == 0 ? 0 : 1;
            }
            // and the path of a mistake: one line, exit 2
            failed += Main.run(new String[] {"list", "--limit", "x"}, env) == 2 ? 0 : 1;
            return failed == 0 ? 0 : 1;
        } finally {
            System.setOut(out);
            System.setErr(err);
            api.close();
            delete(home.toFile());
        }
    }
}
