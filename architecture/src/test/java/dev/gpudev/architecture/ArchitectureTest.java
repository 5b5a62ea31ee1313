package dev.gpudev.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The arrows of docs/DESIGN.md, checked on the compiled classes of every module (tests excluded): a
 * change that needs a forbidden arrow fails here, and the design says why it is forbidden.
 */
class ArchitectureTest {
    static JavaClasses all;

    @BeforeAll
    static void importClasses() {
        all = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.gpudev");
        assertTrue(all.size() > 100, "the classes of every module are on the classpath: " + all.size());
    }

    @Test
    void coreKnowsNothingButTheJdk() {
        ArchRule rule = classes().that().resideInAPackage("dev.gpudev.core..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "dev.gpudev.core..");
        rule.check(all);
    }

    @Test
    void theBackendSpiKnowsOnlyTheCore() {
        classes().that().resideInAPackage("dev.gpudev.backend.spi..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "dev.gpudev.core..", "dev.gpudev.backend.spi..")
                .check(all);
    }

    @Test
    void backendsReachNeitherTheStoreNorADatabase() {
        noClasses().that().resideInAPackage("dev.gpudev.backend..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.gpudev.store..", "dev.gpudev.processor..", "dev.gpudev.api..",
                        "java.sql..", "javax.sql..", "org.postgresql..", "com.zaxxer..", "org.flywaydb..")
                .check(all);
    }

    @Test
    void theApiNeverReachesABackendNorTheProcessor() {
        noClasses().that().resideInAPackage("dev.gpudev.api..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.gpudev.backend..", "dev.gpudev.processor..")
                .check(all);
    }

    @Test
    void theProcessorNeverReachesTheApi() {
        noClasses().that().resideInAPackage("dev.gpudev.processor..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.gpudev.api..", "dev.gpudev.backend.local..",
                        "dev.gpudev.backend.kubernetes..")
                .check(all);
    }

    @Test
    void backendsKnowNothingOfEachOther() {
        noClasses().that().resideInAPackage("dev.gpudev.backend.local..")
                .should().dependOnClassesThat().resideInAPackage("dev.gpudev.backend.kubernetes..").check(all);
        noClasses().that().resideInAPackage("dev.gpudev.backend.kubernetes..")
                .should().dependOnClassesThat().resideInAPackage("dev.gpudev.backend.local..").check(all);
    }

    @Test
    void noBackendPackageDependsOnASiblingBackendPackage() {
        com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices().matching("dev.gpudev.backend.(*)..")
                .should().notDependOnEachOther()
                .ignoreDependency(DescribedPredicate.alwaysTrue(),
                        com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage("dev.gpudev.backend.spi.."))
                .check(all);
    }

    /** Nothing slow on the processor's loop: the backend calls that can block are made by its workers only. */
    @Test
    void onlyTheProcessorsWorkersMakeBackendCallsThatCanBlock() {
        noClasses().that().resideInAPackage("dev.gpudev.processor..").and().doNotHaveSimpleName("BackendCalls")
                .and().doNotHaveFullyQualifiedName("dev.gpudev.processor.BackendCall$Ensure")
                .and().doNotHaveFullyQualifiedName("dev.gpudev.processor.BackendCall$Destroy")
                .and().doNotHaveFullyQualifiedName("dev.gpudev.processor.BackendCall$Notify")
                .and().doNotHaveFullyQualifiedName("dev.gpudev.processor.BackendCall$ClearNotices")
                .and().doNotHaveFullyQualifiedName("dev.gpudev.processor.BackendCall$ListDisk")
                .and().doNotHaveFullyQualifiedName("dev.gpudev.processor.BackendCall$DeleteDisk")
                .should().callMethodWhere(DescribedPredicate.describe("a Backend call that can block",
                        (JavaMethodCall call) -> call.getTargetOwner().isAssignableTo("dev.gpudev.backend.spi.Backend")
                                && List.of("ensure", "destroy", "notify", "clearNotices", "listDisk", "deleteDisk").contains(call.getName())))
                .check(all);
    }

    @Test
    void theStoreServesAndReachesNoOtherModule() {
        noClasses().that().resideInAPackage("dev.gpudev.store..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.gpudev.api..", "dev.gpudev.processor..", "dev.gpudev.backend..",
                        "dev.gpudev.cli..", "dev.gpudev.server..", "dev.gpudev.sshproxy..")
                .check(all);
    }

    @Test
    void theCliReachesOnlyItsOwnCodeTheCoreJacksonTreesAndTheAwsSigner() {
        classes().that().resideInAPackage("dev.gpudev.cli..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "javax.net..", "dev.gpudev.cli..", "dev.gpudev.core..",
                        "com.fasterxml.jackson.core..", "com.fasterxml.jackson.databind", "com.fasterxml.jackson.databind.node..",
                        "software.amazon.awssdk..", "com.sun.net.httpserver..")
                .check(all);
    }

    /** The CLI's start-up budget (docs/DESIGN.md, "CLI start-up"): no ObjectMapper, no reflective command-line parser. */
    @Test
    void theCliStartsWithoutAnObjectMapperOrAReflectiveParser() {
        noClasses().that().resideInAPackage("dev.gpudev.cli..")
                .should().dependOnClassesThat().haveFullyQualifiedName("com.fasterxml.jackson.databind.ObjectMapper")
                .orShould().dependOnClassesThat().resideInAPackage("picocli..")
                .orShould().callMethodWhere(DescribedPredicate.describe("JsonNode.toString or toPrettyString (they build an ObjectMapper)",
                        (JavaMethodCall call) -> call.getTargetOwner().isAssignableTo("com.fasterxml.jackson.databind.JsonNode")
                                && List.of("toString", "toPrettyString").contains(call.getName())))
                .check(all);
    }

    @Test
    void onlyTheStorePreparesStatements() {
        noClasses().that().resideOutsideOfPackage("dev.gpudev.store..")
                .should().callMethodWhere(DescribedPredicate.describe("a statement of java.sql.Connection",
                        (JavaMethodCall call) -> call.getTargetOwner().isAssignableTo(java.sql.Connection.class)
                                && List.of("prepareStatement", "createStatement", "prepareCall", "nativeSQL").contains(call.getName())))
                .check(all);
    }

    /** SQL in a string outside the store: the text of a statement, wherever it would be run. */
    private static final Pattern SQL = Pattern.compile(
            "(?is)^\\s*(select\\s.+\\sfrom\\s|insert\\s+into\\s|update\\s+\\w+\\s+set\\s|delete\\s+from\\s|create\\s+(table|index|extension)\\s"
                    + "|alter\\s+table\\s|drop\\s+(table|index)\\s|listen\\s|notify\\s|copy\\s.+\\s(to|from)\\s).*|.*\\bpg_(advisory|notify|try_advisory)\\w*\\(.*"
                    + "|.*\\bpgmq\\.\\w+\\(.*");
    private static final Pattern STRING = Pattern.compile("\"\"\"(.*?)\"\"\"|\"((?:[^\"\\\\\\n]|\\\\.)*)\"", Pattern.DOTALL);

    @Test
    void stepsAndRouteGroupsGetWhatTheyUseNotTheBagOfEverything() {
        // The processor and the API server wire their parts from one record; nothing else holds all of them.
        noClasses().that().resideInAPackage("dev.gpudev.processor..").and().doNotHaveSimpleName("Processor").and().doNotHaveSimpleName("Parts")
                .should().dependOnClassesThat().haveFullyQualifiedName("dev.gpudev.processor.Parts")
                .check(all);
        noClasses().that().resideInAPackage("dev.gpudev.api..").and().doNotHaveSimpleName("ApiServer").and().doNotHaveSimpleName("Parts")
                .should().dependOnClassesThat().haveNameMatching("dev\\.gpudev\\.api\\.ApiServer(\\$.*)?")
                .because("route groups take the collaborators they use, and request attributes are RequestAttributes'")
                .check(all);
    }

    @Test
    void noSqlTextOutsideTheStore() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<String> found = new ArrayList<>();
        int files = 0;
        try (var walk = Files.walk(root)) {
            for (Path f : walk.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/")
                    && !p.toString().contains("/store/src/") && !p.toString().contains("/target/") && !p.toString().contains("/.git/")).toList()) {
                files++;
                String text = Files.readString(f).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)^\\s*//.*$", "");
                Matcher m = STRING.matcher(text);
                while (m.find()) {
                    String literal = m.group(1) != null ? m.group(1) : m.group(2);
                    if (SQL.matcher(literal).matches()) {
                        found.add(root.relativize(f) + ": " + literal.strip().lines().findFirst().orElse(""));
                    }
                }
            }
        }
        assertTrue(files > 50, "the sources were found under " + root + ": " + files);
        assertFalse(!found.isEmpty(), "SQL outside the store:\n" + String.join("\n", found));
    }

    @Test
    void theSqlScanSeesSql() {
        for (String sql : List.of("select 1 from reservations", "update reservations set status = ?", "select pg_try_advisory_xact_lock(?)",
                "insert into disks (name) values (?)", "select * from pgmq.send(?, ?)")) {
            assertTrue(SQL.matcher(sql).matches(), sql);
        }
        for (String prose : List.of("select a GPU type", "update the reservation's endpoint", "could not delete the files")) {
            assertFalse(SQL.matcher(prose).matches(), prose);
        }
    }
}
