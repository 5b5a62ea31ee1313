package dev.gpudev.deploy;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OpenTofu only: no file of the project suggests running the other tool (it corrupts OpenTofu's state).
 * The word may appear where the language or a warning needs it: OpenTofu's own settings block, the
 * names of the state and lock files, the other tool's registry (how tofu.sh recognises its state), and
 * lines that warn against it.
 */
class OpenTofuOnlyTest {
    static final Pattern WORD = Pattern.compile("terraform", Pattern.CASE_INSENSITIVE);
    /** Uses that are not a suggestion: the HCL settings block, file and registry names, the refusal in tofu.sh. */
    static final Pattern ALLOWED = Pattern.compile("^\\s*terraform\\s*\\{\\s*$|\\.terraform|terraform\\.tfstate|registry\\.terraform\\.io"
            + "|terraform\\*\\)|required_version|tfvars");
    static final Pattern WARNING = Pattern.compile("\\b(never|not|refus\\w*|corrupt\\w*|warning|instead|don't|do not|only)\\b",
            Pattern.CASE_INSENSITIVE);

    /** The lines that mention the other tool without warning against it. */
    static List<String> suggestions(Path file, List<String> lines) {
        List<String> found = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (!WORD.matcher(line).find()) {
                continue;
            }
            String rest = ALLOWED.matcher(line).replaceAll("");
            if (WORD.matcher(rest).find() && !WARNING.matcher(line).find()) {
                found.add(file + ":" + (i + 1) + ": " + line.strip());
            }
        }
        return found;
    }

    @Test
    void noFileSuggestsRunningTheOtherTool() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<String> found = new ArrayList<>();
        int files = 0;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path f : walk.filter(Files::isRegularFile).filter(p -> {
                String s = p.toString();
                return !s.contains("/.git/") && !s.contains("/target/") && !s.contains("/node_modules/") && !s.contains("/.mvn/")
                        && !s.endsWith(".jar") && !s.endsWith(".gz") && !s.endsWith(".png") && !s.endsWith("package-lock.json")
                        && !s.endsWith("OpenTofuOnlyTest.java");
            }).toList()) {
                files++;
                try {
                    found.addAll(suggestions(root.relativize(f), Files.readAllLines(f)));
                } catch (MalformedInputException binary) {
                    // not text
                }
            }
        }
        assertTrue(files > 100, "the project's files were found under " + root + ": " + files);
        assertTrue(found.isEmpty(), "suggestions to run the other tool:\n" + String.join("\n", found));
    }

    /**
     * The other tool's name, put together here so that the examples below (what the scan must catch) are
     * not themselves, read as text, suggestions to run it.
     */
    static final String OTHER = "terra" + "form";

    @Test
    void theScanSeesASuggestionAndLetsAWarningBe() {
        Path f = Path.of("README.md");
        assertEquals(1, suggestions(f, List.of("Then run " + OTHER + " apply in deploy/tofu.")).size());
        assertEquals(1, suggestions(f, List.of(OTHER.toUpperCase(Locale.ROOT) + " init works too")).size());
        assertEquals(0, suggestions(f, List.of("Never run " + OTHER + ": it corrupts OpenTofu's state.")).size());
        assertEquals(0, suggestions(f, List.of(OTHER + " {", "  required_version = \">= 1.8.0\"")).size());
        assertEquals(0, suggestions(f, List.of("for file in \"$HERE/" + OTHER + ".tfstate\" \"$HERE/." + OTHER + ".lock.hcl\"; do")).size());
        assertTrue(suggestions(f, List.of("use " + OTHER + " or tofu, either works")).size() == 1, "a plain suggestion is one".toLowerCase(Locale.ROOT));
    }
}
