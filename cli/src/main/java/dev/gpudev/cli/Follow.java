package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.util.Objects;

/** Follows a reservation until it is active or has ended, telling the user what changes. */
final class Follow {
    private Follow() {
    }

    static JsonNode untilSettled(ApiClient api, String id, PrintWriter out) throws InterruptedException {
        String said = null;
        while (true) {
            JsonNode j = api.get("/v1/jobs/" + id);
            String status = j.get("status").asText();
            String line = status + (j.hasNonNull("queue_position") ? ", position " + j.get("queue_position").asInt() : "")
                    + (j.hasNonNull("estimated_start_at") ? ", starts ~" + Output.time(j.get("estimated_start_at").asText()) : "")
                    + (j.hasNonNull("pending_reason") ? " (" + j.get("pending_reason").asText() + ")" : "")
                    + (!j.hasNonNull("queue_position") && j.hasNonNull("current_detailed_status") ? " — " + j.get("current_detailed_status").asText() : "");
            if (out != null && !Objects.equals(line, said)) {
                out.println("  " + line);
                out.flush();
                said = line;
            }
            if (!"queued".equals(status) && !"preparing".equals(status)) {
                return j;
            }
            Thread.sleep("queued".equals(status) ? 1000 : 250);
        }
    }
}
