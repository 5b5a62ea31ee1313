package dev.gpudev.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The dashboard in a real browser (Debian's chromium, driven by chromedriver), against the real server
 * jar and CLI: log in through the link `gpu-dev dashboard` prints, see a reservation on the cluster
 * page, cancel it there and watch the queue move on without a reload; another user sees neither its
 * SSH command nor its actions; the admin page is refused to them and works for the admin.
 */
class DashboardE2ETest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static Path root;
    static Path dataDir;
    static Path serverLog;
    static Process server;
    static String apiUrl;
    static Path admin;
    static WebDriver browser;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("gpudev-dashboard");
        dataDir = root.resolve("data");
        serverLog = root.resolve("server.log");
        int apiPort = Proc.freePort();
        apiUrl = "http://127.0.0.1:" + apiPort;
        // Two nodes of four GPUs: with one full and one partly held, a reservation of four waits.
        server = new ProcessBuilder(Proc.java(), "-jar", Proc.jar("server", "gpudev-server.jar"), "--port", Integer.toString(apiPort),
                "--ssh-port", Integer.toString(Proc.freePort()), "--data-dir", dataDir.toString(), "--simulated-gpus", "h100:4x2")
                .redirectErrorStream(true).redirectOutput(serverLog.toFile()).start();
        Proc.awaitRunning(server, serverLog, "server");
        admin = Proc.newHome(root, "admin");
        assertEquals(0, cli(admin, "login", "--token-file", dataDir.resolve("admin-token").toString()).exit());
        browser = browser();
    }

    /** Headless chromium from the distribution; run-tests installs it (chromium, chromium-driver). */
    static WebDriver browser() {
        Path chromium = Path.of("/usr/bin/chromium");
        Path driver = Path.of("/usr/bin/chromedriver");
        assertTrue(Files.isExecutable(chromium) && Files.isExecutable(driver),
                "the dashboard tests need Debian's chromium and chromium-driver: run ./run-tests (it installs them) or apt-get install them");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--window-size=1280,1000", "--lang=en-GB");
        org.openqa.selenium.logging.LoggingPreferences logs = new org.openqa.selenium.logging.LoggingPreferences();
        logs.enable(org.openqa.selenium.logging.LogType.BROWSER, java.util.logging.Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile()).usingAnyFreePort().build();
        ChromeDriver d = new ChromeDriver(service, options);
        d.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        return d;
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        Proc.stopServer(server, dataDir);
    }

    static Proc cli(Path home, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Proc.java(), "-jar", Proc.jar("cli", "gpudev-cli.jar")));
        cmd.addAll(List.of(args));
        return Proc.run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", apiUrl), cmd);
    }

    static Path newUser(String name) throws Exception {
        Path home = Proc.newHome(root, name);
        Proc invite = cli(admin, "admin", "invite", name);
        assertEquals(0, invite.exit(), invite.out());
        assertEquals(0, cli(home, "login", "--token", invite.out().lines().findFirst().orElseThrow().trim()).exit());
        return home;
    }

    /** The link `gpu-dev dashboard` prints. */
    static String loginLink(Path home) throws Exception {
        Proc p = cli(home, "dashboard", "--no-browser");
        assertEquals(0, p.exit(), p.out());
        String link = p.out().lines().filter(l -> l.startsWith("http")).findFirst().orElseThrow();
        assertTrue(link.startsWith(apiUrl + "/ui/login#"), link);
        return link;
    }

    static WebElement waitFor(By by) throws InterruptedException {
        waitUntil("the page shows " + by, () -> browser.findElements(by).stream().anyMatch(WebElement::isDisplayed));
        return browser.findElement(by);
    }

    static void waitUntil(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out waiting until " + what + " at " + browser.getCurrentUrl() + "; the page shows:\n"
                        + browser.findElement(By.tagName("body")).getText() + "\nthe browser's console:\n" + console());
            }
            Thread.sleep(100);
        }
    }

    static String console() {
        StringBuilder out = new StringBuilder();
        browser.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).forEach(e -> out.append(e.getMessage()).append('\n'));
        return out.toString();
    }

    static String text() {
        return browser.findElement(By.tagName("body")).getText();
    }

    /** Logs the browser in through a user's link and waits for the dashboard to greet them. */
    static void logIn(Path home, String username) throws Exception {
        follow(loginLink(home));
        waitUntil("the dashboard opens for " + username, () -> browser.getCurrentUrl().endsWith("/ui")
                && browser.findElement(By.id("who")).getText().startsWith(username));
        assertFalse(browser.getCurrentUrl().contains("#"), "the link's token is gone from the address bar");
    }

    /** Opens a login link and says yes: a link alone logs no one in. */
    static void follow(String link) throws Exception {
        browser.get(link);
        waitFor(By.id("login-button")).click();
    }

    static void logOut() throws Exception {
        browser.findElement(By.id("logout")).click();
        waitUntil("the page says it logged out", () -> text().contains("You logged out"));
        Object status = ((JavascriptExecutor) browser).executeAsyncScript(
                "var done = arguments[arguments.length - 1]; fetch('/v1/jobs', {credentials: 'same-origin'}).then(r => done(r.status));");
        assertEquals(401L, status, "the session ended on the server: the browser's requests are refused");
    }

    static JsonNode api(String method, String path, Path home, String body) throws Exception {
        String key = JSON.readTree(Files.readString(home.resolve(".gpu-dev/credentials"))).get("api_key").asText();
        var r = HTTP.send(HttpRequest.newBuilder(URI.create(apiUrl + path)).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(r.statusCode() < 300, method + " " + path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    static JsonNode waitForStatus(Path home, String id, String status) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (true) {
            JsonNode j = api("GET", "/v1/jobs/" + id, home, null);
            if (j.get("status").asText().equals(status)) {
                return j;
            }
            assertTrue(Instant.now().isBefore(deadline), "still " + j.get("status").asText() + ", not " + status);
            Thread.sleep(100);
        }
    }

    @Test
    void logInByTheLinkSeeYourReservationCancelItThereAndTheQueueMovesOnWhileOthersSeeNoneOfIt() throws Exception {
        Path alice = newUser("alice");
        Path bob = newUser("bob");
        String train = api("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":4,\"duration_hours\":2,\"name\":\"train\"}")
                .get("job_id").asText();
        String aliceSsh = waitForStatus(alice, train, "active").get("ssh_command").asText();
        Path erin = newUser("erin");
        String eval = api("POST", "/v1/jobs/submit", erin, "{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":3,\"name\":\"eval\"}")
                .get("job_id").asText();
        String notebook = api("POST", "/v1/jobs/submit", erin, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"name\":\"notebook\"}")
                .get("job_id").asText();
        waitForStatus(erin, eval, "active");
        waitForStatus(erin, notebook, "active");
        String next = api("POST", "/v1/jobs/submit", bob, "{\"gpu_type\":\"h100\",\"gpu_count\":4,\"duration_hours\":1,\"name\":\"next\"}")
                .get("job_id").asText();
        waitForStatus(bob, next, "queued");

        // Bob: sees who holds the GPUs, but neither Alice's SSH command nor any action on her reservation.
        logIn(bob, "bob");
        waitUntil("alice's GPUs show on the cluster page", () -> text().contains("alice · train"));
        waitUntil("bob's place in the queue shows", () -> text().contains("★ bob"));
        assertTrue(browser.findElements(By.cssSelector("[data-job='" + train + "'] button, button[data-key$='" + train + "']")).isEmpty(),
                "no action on someone else's reservation");
        assertFalse(browser.getPageSource().contains(train), "not even its id");
        browser.get(apiUrl + "/ui/mine");
        waitFor(By.cssSelector("article[data-job='" + next + "']"));
        assertFalse(browser.getPageSource().contains(aliceSsh), "alice's SSH command is hers");
        assertTrue(browser.findElements(By.cssSelector(".ssh-command")).isEmpty(), "bob holds nothing to log in to yet");
        Proc queue = cli(bob, "queue");
        assertEquals(0, queue.exit(), queue.out());
        assertTrue(queue.out().contains("alice") && queue.out().contains("train") && queue.out().contains("bob (you)"), queue.out());
        browser.get(apiUrl + "/ui/admin");
        waitUntil("the admin page is refused", () -> text().contains("Refused: this is for admins"));
        assertTrue(browser.findElements(By.cssSelector("nav a[data-page='admin']")).stream().noneMatch(WebElement::isDisplayed),
                "no admin link for a user");
        logOut();

        // Alice: her reservation is marked hers on the cluster page, with its actions; Mine has its SSH command.
        logIn(alice, "alice");
        browser.get(apiUrl + "/ui/mine");
        assertEquals(aliceSsh, waitFor(By.cssSelector("article[data-job='" + train + "'] .ssh-command")).getText());
        browser.get(apiUrl + "/ui");
        waitUntil("her GPUs are marked hers", () -> text().contains("★ alice · train"));
        waitUntil("bob waits first in line", () -> browser.findElements(By.cssSelector(".queue td")).stream()
                .anyMatch(td -> td.getText().equals("bob")));
        browser.manage().window().setSize(new Dimension(1280, 1000));
        Path shots = Files.createDirectories(Path.of("target", "screenshots"));
        Files.write(shots.resolve("dashboard-cluster.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));

        JavascriptExecutor js = (JavascriptExecutor) browser;
        // From a phone's width to a wide screen, nothing runs off the side (wide tables scroll in their own box).
        for (int width : new int[]{360, 1920}) {
            browser.manage().window().setSize(new Dimension(width, 900));
            long resized = System.nanoTime() + 5_000_000_000L; // the window takes its size, then the page lays out again
            while (!Long.valueOf(width).equals(js.executeScript("return window.outerWidth;")) && System.nanoTime() < resized) {
                Thread.sleep(20);
            }
            js.executeScript("return document.body.getBoundingClientRect().width;");
            long overflow = (Long) js.executeScript("return document.documentElement.scrollWidth - window.innerWidth;");
            Object inner = js.executeScript("return window.innerWidth;");
            System.out.println("dashboard at a " + inner + " px wide window: " + (overflow <= 0 ? "fits" : overflow + " px too wide"));
            assertTrue(overflow <= 0, "at " + inner + " px the page is " + overflow + " px too wide");
        }
        browser.manage().window().setSize(new Dimension(1280, 1000));
        js.executeScript("window.notReloaded = true;");
        // With the keyboard: the action is a real button.
        browser.findElement(By.cssSelector("button[data-key='cancel-" + train + "']")).sendKeys(org.openqa.selenium.Keys.ENTER);
        browser.switchTo().alert().accept();
        waitUntil("the queue moves on: bob's reservation takes the GPUs", () -> text().contains("bob · next")
                && text().contains("Nobody is waiting."));
        assertEquals(Boolean.TRUE, js.executeScript("return window.notReloaded === true;"), "the page changed without a reload");
        assertFalse(text().contains("alice · train"));
        assertTrue(text().contains("erin · eval"), "the others' reservations stay where they were");
        logOut();
        api("POST", "/v1/jobs/" + eval + "/cancel", erin, null);
        api("POST", "/v1/jobs/" + notebook + "/cancel", erin, null);
        api("POST", "/v1/jobs/" + next + "/cancel", bob, null);
    }

    @Test
    void theAdminPageListsUsersKeysInvitationsAndTheAuditLog() throws Exception {
        newUser("carol");
        logIn(admin, "root");
        browser.get(apiUrl + "/ui/admin");
        waitUntil("users and the audit log show", () -> text().contains("carol") && text().contains("POST /v1/admin/invites"));
        assertTrue(browser.findElements(By.cssSelector("button[data-key^='revoke-']")).size() >= 2, "every live key can be revoked");
        assertFalse(browser.getPageSource().contains(
                JSON.readTree(Files.readString(admin.resolve(".gpu-dev/credentials"))).get("api_key").asText()), "no key is shown");
        logOut();
    }

    @Test
    void theUsagePageChartsTheLastThirtyDaysAndSaysWhereOneStandsAndOnlyAdminsLookAtOthers() throws Exception {
        Path dana = newUser("dana");
        logIn(dana, "dana");
        browser.get(apiUrl + "/ui/usage");
        waitUntil("her usage and fair share show", () -> text().contains("dana: 0.0 GPU-hours") && text().contains("Fair share")
                && text().contains("no GPU use lately"));
        assertTrue(browser.findElements(By.cssSelector("svg.chart rect.bar")).size() >= 30, "a bar per day");
        assertTrue(browser.findElements(By.id("usage-user")).isEmpty(), "only admins may ask for another's usage");
        logOut();
        logIn(admin, "root");
        browser.get(apiUrl + "/ui/usage");
        waitFor(By.id("usage-user")).sendKeys("dana");
        browser.findElement(By.id("usage-show")).click();
        waitUntil("dana's usage shows to the admin", () -> text().contains("dana: 0.0 GPU-hours"));
        logOut();
    }

    @Test
    void aBatchRunsCardSaysWhatItRunsAndHowItEnded() throws Exception {
        Path ivy = newUser("ivy");
        String id = api("POST", "/v1/jobs/submit", ivy, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"name\":\"sweep\","
                + "\"run\":{\"command\":[\"sh\",\"-c\",\"sleep 600\"],\"keep\":true}}").get("job_id").asText();
        waitForStatus(ivy, id, "active");
        logIn(ivy, "ivy");
        browser.get(apiUrl + "/ui/mine");
        waitUntil("the card says it runs its command", () -> text().contains("running sh -c 'sleep 600' (kept until its hours are up)")
                && text().contains("gpu-dev logs sweep -f"));
        api("POST", "/v1/jobs/" + id + "/cancel", ivy, null);
        waitForStatus(ivy, id, "cancelled");
        browser.get(apiUrl + "/ui/mine");
        waitUntil("ended: its run stopped with it", () -> text().contains("cancelled, stopped (cancelled)"));
        logOut();
    }

    @Test
    void aDistributedReservationIsShownOnAllItsNodesAndEveryTimeSaysItsZone() throws Exception {
        // whole nodes: end what other tests left running (the admin may cancel anyone's)
        for (JsonNode j : api("GET", "/v1/jobs?all_users=true&status=queued,preparing,active&limit=500", admin, null).get("jobs")) {
            api("POST", "/v1/jobs/" + j.get("job_id").asText() + "/cancel", admin, null);
        }
        Path hal = newUser("hal");
        String id = api("POST", "/v1/jobs/submit", hal, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":1,"
                + "\"distributed\":true,\"name\":\"wide\"}").get("job_id").asText();
        waitForStatus(hal, id, "active");
        logIn(hal, "hal");
        waitUntil("both nodes count in 'Yours', and its end says its zone", () -> text().contains("8 GPUs on 2 nodes (sim-h100-0, sim-h100-1)")
                && java.util.regex.Pattern.compile("until \\d{1,2}:\\d{2}( [AP]M)? (UTC|GMT)").matcher(text()).find());
        logOut();
        api("POST", "/v1/jobs/" + id + "/cancel", hal, null);
    }

    @Test
    void aTeamsUsageShowsToItsMembersAndABookingShowsOnTheClustersTimeline() throws Exception {
        Path fred = newUser("fred");
        assertEquals(0, cli(admin, "admin", "team", "create", "vision").exit());
        assertEquals(0, cli(admin, "admin", "team", "guarantee", "vision", "h100", "2").exit());
        assertEquals(0, cli(admin, "admin", "team", "add", "vision", "fred").exit());
        String at = java.time.Instant.now().plus(java.time.Duration.ofHours(3)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        String booking = api("POST", "/v1/jobs/submit", fred, "{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":1,"
                + "\"name\":\"demo\",\"start_at\":\"" + at + "\"}").get("job_id").asText();
        logIn(fred, "fred");
        waitUntil("the booking shows on the cluster page's timeline", () -> text().contains("Booked ahead")
                && !browser.findElements(By.cssSelector("svg.timeline rect.booking.mine")).isEmpty());
        assertTrue(text().contains("fred · demo · 2 GPUs"), text());
        browser.get(apiUrl + "/ui/usage");
        waitFor(By.cssSelector("button[data-team='vision']")).click();
        waitUntil("the team's usage shows", () -> text().contains("Team vision: 0.0 GPU-hours") && text().contains("Members: fred")
                && text().contains("Guaranteed: 2 h100"));
        logOut();
        api("POST", "/v1/jobs/" + booking + "/cancel", fred, "{}");
    }

    @Test
    void aLoginLinkWorksOnceAndAPageWithoutASessionSaysHowToGetOne() throws Exception {
        Path dave = newUser("dave");
        String link = loginLink(dave);
        follow(link);
        waitUntil("logged in", () -> browser.getCurrentUrl().endsWith("/ui"));
        logOut();
        follow(link);
        waitUntil("the used link is refused", () -> text().contains("already used"));
        browser.get(apiUrl + "/ui/mine");
        waitUntil("the page says how to log in", () -> text().contains("gpu-dev dashboard"));
    }
}
