package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Following something the server does for us: ask again every so often until it is done, or time is up. */
final class Poll {
    private Poll() {
    }

    /**
     * Fetches until done says so; each answer goes to onEach first. Returns the last answer (done or
     * not, when the timeout passed first); the wait between asks may depend on the answer.
     */
    static JsonNode until(Supplier<JsonNode> fetch, Predicate<JsonNode> done, Duration timeout, Function<JsonNode, Duration> every,
                          Consumer<JsonNode> onEach) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode last = fetch.get();
            onEach.accept(last);
            if (done.test(last) || System.nanoTime() > deadline) {
                return last;
            }
            try {
                Thread.sleep(every.apply(last).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException(1, "interrupted");
            }
        }
    }

    static JsonNode until(Supplier<JsonNode> fetch, Predicate<JsonNode> done, Duration timeout, Duration every) {
        return until(fetch, done, timeout, x -> every, x -> {
        });
    }

    /** Whether a reservation's status has ended (the one list of terminal states is the core's). */
    static boolean ended(JsonNode job) {
        return dev.gpudev.core.ReservationStatus.parse(job.get("status").asText()).isTerminal();
    }
}
