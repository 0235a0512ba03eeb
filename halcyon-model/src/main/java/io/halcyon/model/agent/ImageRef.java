package io.halcyon.model.agent;

/** The image a guest boots from, as the agent needs it to fetch and verify a local copy. */
public record ImageRef(String id, String diskFormat, long size, String sha512) {
}
