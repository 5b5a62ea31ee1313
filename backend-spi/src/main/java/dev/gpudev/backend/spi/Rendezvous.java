package dev.gpudev.backend.spi;

/** Where the nodes of a distributed reservation meet: node 0's address and port. */
public record Rendezvous(String masterAddress, int masterPort) {
}
