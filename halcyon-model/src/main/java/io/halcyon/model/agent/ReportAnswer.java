package io.halcyon.model.agent;

/**
 * The controller's answer to a guest report. {@code stale} tells the agent the guest is no longer
 * placed on its host at its epoch: it must stop the guest and remove it.
 */
public record ReportAnswer(boolean accepted, boolean stale, String reason) {
    public static ReportAnswer ok() {
        return new ReportAnswer(true, false, null);
    }

    public static ReportAnswer stale(String reason) {
        return new ReportAnswer(false, true, reason);
    }
}
