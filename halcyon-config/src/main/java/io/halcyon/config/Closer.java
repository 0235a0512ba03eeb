package io.halcyon.config;

import org.slf4j.Logger;

import java.util.List;

/** Closes a process's components in order, logging (not throwing) each failure so the rest still close. */
public final class Closer {
    private Closer() {
    }

    public static void closeAll(List<? extends AutoCloseable> components, Logger log) {
        for (AutoCloseable c : components) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("event=close_failed component={} error=\"{}\"", c.getClass().getSimpleName(), e.toString());
            }
        }
    }
}
