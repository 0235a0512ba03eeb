package io.halcyon.model.host;

/** Resources one server holds on its host. */
public record Claim(int vcpus, int ramMb, int diskGb) {
}
