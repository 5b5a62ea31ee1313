package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Gang;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

/**
 * What an environment was made from, kept in its directory (the server's, 0600): a restarted server
 * that takes a running box over knows whose it is and what it is for, and lets its users in at once,
 * before the processor says so again. Jupyter's token is not kept (the processor says it again).
 */
final class SpecFile {
    static final String NAME = "spec.properties";

    private SpecFile() {
    }

    static void write(Path envDir, EnvironmentSpec spec) throws IOException {
        Properties p = new Properties();
        p.setProperty("reservation", spec.reservationId().toString());
        p.setProperty("name", spec.name());
        p.setProperty("rank", Integer.toString(spec.rank()));
        p.setProperty("owner.id", Long.toString(spec.owner().userId()));
        p.setProperty("owner.name", spec.owner().username());
        p.setProperty("node", spec.node());
        p.setProperty("gpus", Integer.toString(spec.gpuCount()));
        switch (spec.home()) {
            case EnvironmentSpec.Home.Own ignored -> p.setProperty("home", "own");
            case EnvironmentSpec.Home.Scratch ignored -> p.setProperty("home", "scratch");
            case EnvironmentSpec.Home.Disk d -> {
                p.setProperty("home", "disk");
                p.setProperty("disk.id", Long.toString(d.disk().id()));
                p.setProperty("disk.owner.id", Long.toString(d.disk().ownerId()));
                p.setProperty("disk.owner", d.disk().owner());
                p.setProperty("disk.name", d.disk().name());
            }
        }
        if (spec.image() != null) {
            p.setProperty("image", spec.image());
        }
        if (spec.gang() != null) {
            p.setProperty("gang", String.join(",", spec.gang().members()));
        }
        for (int i = 0; i < spec.authorizedKeys().size(); i++) {
            p.setProperty("key." + i, spec.authorizedKeys().get(i));
        }
        spec.env().values().forEach((k, v) -> p.setProperty("env." + k, v)); // the file is the server's alone (0600)
        if (spec.run() != null) {
            for (int i = 0; i < spec.run().command().size(); i++) {
                p.setProperty("run." + i, spec.run().command().get(i));
            }
            if (spec.run().workdir() != null) {
                p.setProperty("run.workdir", spec.run().workdir());
            }
            p.setProperty("run.keep", Boolean.toString(spec.run().keep()));
        }
        Path tmp = envDir.resolve(NAME + ".new");
        try (var out = Files.newOutputStream(tmp)) {
            p.store(out, "what " + spec.name() + " was made from");
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.move(tmp, envDir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The spec kept in an environment's directory (without Jupyter). */
    static EnvironmentSpec read(Path envDir) throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(envDir.resolve(NAME))) {
            p.load(in);
        }
        EnvironmentSpec.Home home = switch (p.getProperty("home", "own")) {
            case "scratch" -> new EnvironmentSpec.Home.Scratch();
            case "disk" -> new EnvironmentSpec.Home.Disk(new DiskRef(Long.parseLong(p.getProperty("disk.id")),
                    Long.parseLong(p.getProperty("disk.owner.id")), p.getProperty("disk.owner"), p.getProperty("disk.name")));
            default -> new EnvironmentSpec.Home.Own();
        };
        List<String> keys = new ArrayList<>();
        for (int i = 0; p.getProperty("key." + i) != null; i++) {
            keys.add(p.getProperty("key." + i));
        }
        String gang = p.getProperty("gang");
        java.util.Map<String, String> env = new java.util.TreeMap<>();
        p.stringPropertyNames().stream().filter(k -> k.startsWith("env.")).forEach(k -> env.put(k.substring(4), p.getProperty(k)));
        List<String> run = new ArrayList<>();
        for (int i = 0; p.getProperty("run." + i) != null; i++) {
            run.add(p.getProperty("run." + i));
        }
        return new EnvironmentSpec(UUID.fromString(p.getProperty("reservation")), p.getProperty("name"), Integer.parseInt(p.getProperty("rank")),
                new EnvironmentSpec.Owner(Long.parseLong(p.getProperty("owner.id")), p.getProperty("owner.name")), p.getProperty("node"),
                Integer.parseInt(p.getProperty("gpus")), keys, null, home, p.getProperty("image"),
                gang == null ? null : new Gang(Arrays.asList(gang.split(","))), new dev.gpudev.core.EnvVars(env),
                run.isEmpty() ? null : new dev.gpudev.core.BatchRun(run, p.getProperty("run.workdir"), Boolean.parseBoolean(p.getProperty("run.keep"))));
    }
}
