package io.halcyon.store;

import java.util.ArrayList;
import java.util.List;

/** A compare-and-swap transaction: if every compare holds, apply onSuccess, else onFailure. */
public record Txn(List<Compare> compares, List<Op> onSuccess, List<Op> onFailure) {
    public Txn {
        compares = List.copyOf(compares);
        onSuccess = List.copyOf(onSuccess);
        onFailure = List.copyOf(onFailure);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private final List<Compare> compares = new ArrayList<>();
        private final List<Op> onSuccess = new ArrayList<>();
        private final List<Op> onFailure = new ArrayList<>();

        public Builder when(Compare... cs) {
            compares.addAll(List.of(cs));
            return this;
        }

        public Builder when(List<Compare> cs) {
            compares.addAll(cs);
            return this;
        }

        public Builder onSuccess(Op... ops) {
            onSuccess.addAll(List.of(ops));
            return this;
        }

        public Builder onSuccess(List<? extends Op> ops) {
            onSuccess.addAll(ops);
            return this;
        }

        public Builder onFailure(Op... ops) {
            onFailure.addAll(List.of(ops));
            return this;
        }

        public Txn build() {
            return new Txn(compares, onSuccess, onFailure);
        }
    }
}
