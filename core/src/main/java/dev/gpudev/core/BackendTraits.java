package dev.gpudev.core;

/**
 * What the rest of the platform needs to know of a backend without running it: which kind it is, whether
 * its environments are isolated from each other and from the platform (where they are not, only the admin
 * may reserve), and who logs in to an environment. The processor publishes them beside the capacity, so an
 * API replica (which never runs a backend, and may be on another machine) answers as the backend is.
 *
 * @param kind      "local", "kubernetes"
 * @param isolates  whether environments are isolated
 * @param loginUser the user environments let in (a pod's non-root user); null when each user logs in as themself
 */
public record BackendTraits(String kind, boolean isolates, String loginUser) {
}
