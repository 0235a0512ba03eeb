package io.halcyon.store;

import static java.util.Objects.requireNonNull;

/**
 * A condition on one key for {@link Txn}. A missing key has create revision, mod revision and
 * version 0, so {@code createRevision(k, EQUAL, 0)} means "k does not exist".
 */
public record Compare(String key, Target target, Result result, long operand) {
    public enum Target { CREATE_REVISION, MOD_REVISION, VERSION }

    public enum Result { EQUAL, NOT_EQUAL, GREATER, LESS }

    public Compare {
        requireNonNull(key, "key is null");
        requireNonNull(target, "target is null");
        requireNonNull(result, "result is null");
    }

    public static Compare modRevision(String key, long revision) {
        return new Compare(key, Target.MOD_REVISION, Result.EQUAL, revision);
    }

    public static Compare absent(String key) {
        return new Compare(key, Target.CREATE_REVISION, Result.EQUAL, 0);
    }

    public static Compare present(String key) {
        return new Compare(key, Target.CREATE_REVISION, Result.GREATER, 0);
    }

    /** Evaluates this compare against a key's current state, or null when it does not exist. */
    public boolean holds(KeyValue current) {
        long actual = switch (target) {
            case CREATE_REVISION -> current == null ? 0 : current.createRevision();
            case MOD_REVISION -> current == null ? 0 : current.modRevision();
            case VERSION -> current == null ? 0 : current.version();
        };
        return switch (result) {
            case EQUAL -> actual == operand;
            case NOT_EQUAL -> actual != operand;
            case GREATER -> actual > operand;
            case LESS -> actual < operand;
        };
    }
}
