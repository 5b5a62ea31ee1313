package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.Observed;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * What a pod's status means for its reservation, in words its user understands. Ready (its readiness
 * probe is sshd answering) is an environment to connect to; an image that cannot be pulled, a container
 * that keeps crashing or is killed for memory, or no node for longer than allowed, fail it for good;
 * an eviction is made again.
 */
public final class PodPhases {
    private PodPhases() {
    }

    public static Observed.Phase of(Pod pod, Service service, String namespace, Instant now, Duration unschedulableAfter) {
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            return new Observed.Phase.Starting("its pod is being removed");
        }
        var status = pod.getStatus();
        String phase = status == null || status.getPhase() == null ? "Pending" : status.getPhase();
        String image = pod.getSpec().getContainers().isEmpty() ? "?" : pod.getSpec().getContainers().getFirst().getImage();
        List<ContainerStatus> containers = status == null || status.getContainerStatuses() == null ? List.of() : status.getContainerStatuses();
        for (ContainerStatus c : containers) {
            if (c.getLastState() != null && c.getLastState().getTerminated() != null
                    && "OOMKilled".equals(c.getLastState().getTerminated().getReason())
                    || c.getState() != null && c.getState().getTerminated() != null && "OOMKilled".equals(c.getState().getTerminated().getReason())) {
                return new Observed.Phase.Failed("the environment ran out of memory and was killed (OOM): its processes used more than "
                        + "its share of the node's memory", false);
            }
            var waiting = c.getState() == null ? null : c.getState().getWaiting();
            if (waiting == null || waiting.getReason() == null) {
                continue;
            }
            String message = waiting.getMessage() == null ? "" : waiting.getMessage();
            switch (waiting.getReason()) {
                case "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull" -> {
                    return new Observed.Phase.Failed("the image " + image + " cannot be pulled" + said(message)
                            + ": check its name and that the cluster may pull it", false);
                }
                case "ErrImagePull" -> {
                    String m = message.toLowerCase(Locale.ROOT);
                    if (m.contains("not found") || m.contains("manifest unknown") || m.contains("unauthorized") || m.contains("denied")) {
                        return new Observed.Phase.Failed("the image " + image + " cannot be pulled" + said(message), false);
                    }
                    return new Observed.Phase.Starting("pulling the image " + image + " (trying again)");
                }
                case "CrashLoopBackOff" -> {
                    var last = c.getLastState() == null ? null : c.getLastState().getTerminated();
                    return new Observed.Phase.Failed("the environment keeps crashing"
                            + (last == null ? "" : " (exit code " + last.getExitCode() + (last.getReason() == null ? "" : ", " + last.getReason()) + ")")
                            + ": the image must run sshd (see deploy/images/dev)", false);
                }
                case "ContainerCreating", "PodInitializing" -> {
                    return new Observed.Phase.Starting("starting its container");
                }
                default -> {
                    return new Observed.Phase.Starting(waiting.getReason() + said(message));
                }
            }
        }
        switch (phase) {
            case "Pending" -> {
                PodCondition scheduled = condition(pod, "PodScheduled");
                if (scheduled != null && "False".equals(scheduled.getStatus()) && "Unschedulable".equals(scheduled.getReason())) {
                    Instant since = instant(scheduled.getLastTransitionTime(), instant(pod.getMetadata().getCreationTimestamp(), now));
                    String why = scheduled.getMessage() == null ? "" : scheduled.getMessage();
                    if (Duration.between(since, now).compareTo(unschedulableAfter) >= 0) {
                        return new Observed.Phase.Failed("no node could take it within " + unschedulableAfter.toMinutes() + " minutes"
                                + said(why), false);
                    }
                    return new Observed.Phase.Starting("waiting for a node" + said(why));
                }
                return new Observed.Phase.Starting(scheduled == null ? "waiting to be scheduled" : "starting on " + pod.getSpec().getNodeName());
            }
            case "Running" -> {
                PodCondition ready = condition(pod, "Ready");
                // a batch run's status container has ended with its command: the pod is no longer "Ready", its sshd still is
                if (ready != null && "True".equals(ready.getStatus()) || devReady(containers, pod)) {
                    return new Observed.Phase.Ready(host(pod, service, namespace), port(service), List.of(),
                            "running on " + pod.getSpec().getNodeName());
                }
                return new Observed.Phase.Starting("starting sshd");
            }
            case "Failed", "Succeeded" -> {
                String reason = status.getReason() == null ? "its pod stopped" : "Evicted".equals(status.getReason())
                        ? "its pod was evicted by the node" : "its pod stopped (" + status.getReason() + ")";
                return new Observed.Phase.Failed(reason + said(status.getMessage() == null ? "" : status.getMessage()) + "; making it again",
                        true);
            }
            default -> {
                return new Observed.Phase.Starting("its node is not responding");
            }
        }
    }

    private static boolean devReady(List<ContainerStatus> containers, Pod pod) {
        if (pod.getSpec().getContainers().size() < 2) {
            return false;
        }
        String dev = pod.getSpec().getContainers().getFirst().getName();
        return containers.stream().anyMatch(c -> dev.equals(c.getName()) && Boolean.TRUE.equals(c.getReady()));
    }

    /**
     * How a batch run ended, from its status container's termination message (the code on the first line, then the
     * end of its log); null while it runs, or when the pod has no run.
     */
    public static Observed.RunEnd runEnd(Pod pod) {
        if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
            return null;
        }
        for (ContainerStatus c : pod.getStatus().getContainerStatuses()) {
            if (!EnvironmentObjects.RUN_STATUS.equals(c.getName()) || c.getState() == null || c.getState().getTerminated() == null) {
                continue;
            }
            var t = c.getState().getTerminated();
            String message = t.getMessage() == null ? "" : t.getMessage();
            int nl = message.indexOf('\n');
            String first = (nl < 0 ? message : message.substring(0, nl)).strip();
            if (t.getExitCode() == null || t.getExitCode() != 0 || !first.matches("[0-9]{1,9}")) {
                continue; // it failed itself (restarted: the pod restarts on failure), the command's end is still to come
            }
            return new Observed.RunEnd(Integer.parseInt(first), nl < 0 ? "" : message.substring(nl + 1));
        }
        return null;
    }

    /** Where the proxy reaches sshd: the Service's cluster IP (or its DNS name until it has one). */
    static String host(Pod pod, Service service, String namespace) {
        if (service != null && service.getSpec() != null && service.getSpec().getClusterIP() != null
                && !service.getSpec().getClusterIP().isBlank() && !"None".equals(service.getSpec().getClusterIP())) {
            return service.getSpec().getClusterIP();
        }
        return pod.getMetadata().getName() + "." + namespace + ".svc";
    }

    static int port(Service service) {
        if (service != null && service.getSpec() != null && service.getSpec().getPorts() != null) {
            for (ServicePort p : service.getSpec().getPorts()) {
                if ("ssh".equals(p.getName()) && p.getPort() != null) {
                    return p.getPort();
                }
            }
        }
        return 22;
    }

    private static PodCondition condition(Pod pod, String type) {
        if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
            return null;
        }
        for (PodCondition c : pod.getStatus().getConditions()) {
            if (type.equals(c.getType())) {
                return c;
            }
        }
        return null;
    }

    private static Instant instant(String iso, Instant fallback) {
        try {
            return iso == null ? fallback : Instant.parse(iso);
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    private static String said(String message) {
        String m = message == null ? "" : message.strip();
        if (m.isEmpty()) {
            return "";
        }
        return ": " + (m.length() > 300 ? m.substring(0, 300) + "…" : m);
    }
}
