package dev.gpudev.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What `gpu-dev run --workdir` copies: .gitignore rules as git reads them, and only what changed. */
class WorkdirTest {
    @TempDir
    Path dir;

    private void file(String rel, String content) throws Exception {
        Path p = dir.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    @Test
    void gitignoreRulesAreReadAsGitReadsThem() throws Exception {
        Path proj = dir.resolve("proj");
        Files.createDirectories(proj);
        Files.write(proj.resolve(".gitignore"), ("# comment\n*.ckpt\n!keep.ckpt\n/build\nlogs/\nweird{1}.txt\n[ab].tmp\nsrc/**/gen\ncaf\u00e9.bin\n")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        for (String f : List.of("train.py", "model.ckpt", "keep.ckpt", "build/out.o", "src/build/kept.py", "logs/a.log", "src/logs/b.log",
                "weird{1}.txt", "a.tmp", "c.tmp", "src/x/y/gen/g.py", "src/main.py", ".git/HEAD", "sub/.gitignore", "sub/x.log", "sub/y.txt")) {
            file("proj/" + f, f);
        }
        Files.writeString(proj.resolve("sub/.gitignore"), "*.log\n");
        assertEquals(List.of(".gitignore", "c.tmp", "keep.ckpt", "src/build/kept.py", "src/main.py", "sub/.gitignore", "sub/y.txt", "train.py"),
                Workdir.files(proj), "braces are plain characters in git's patterns; a nested .gitignore counts below it");
    }

    @Test
    void onlyWhatIsNotThereWithTheSameSizeAndTimeIsCopied() throws Exception {
        file("a.txt", "one");
        file("b/c.txt", "two");
        long secs = Files.getLastModifiedTime(dir.resolve("a.txt")).toMillis() / 1000;
        long csecs = Files.getLastModifiedTime(dir.resolve("b/c.txt")).toMillis() / 1000;
        Map<String, long[]> there = Workdir.listing("a.txt\t3\t" + secs + ".4120000000\nb/c.txt\t3\t" + (csecs - 5) + ".0\nnot a line\n");
        assertEquals(List.of("b/c.txt"), Workdir.changed(dir, List.of("a.txt", "b/c.txt"), there));
        assertEquals("proj-2", Workdir.remoteName(Path.of("/x/proj-2")));
        assertEquals("my_project", Workdir.remoteName(Path.of("/x/my project")));
        assertEquals("workdir", Workdir.remoteName(Path.of("/")));
    }
}
