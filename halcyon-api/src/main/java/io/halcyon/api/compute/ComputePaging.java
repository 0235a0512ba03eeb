package io.halcyon.api.compute;

import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;

import java.util.List;
import java.util.function.Function;

/** Nova's limit/marker paging over an already sorted list. */
final class ComputePaging {
    static final int MAX_LIMIT = 1000;

    private ComputePaging() {
    }

    static int limit(ApiRequest r) {
        String s = r.query("limit");
        if (s == null) {
            return MAX_LIMIT;
        }
        try {
            int n = Integer.parseInt(s);
            if (n < 0) {
                throw ApiException.badRequest("limit param must be positive");
            }
            return Math.min(n, MAX_LIMIT);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("limit param must be an integer");
        }
    }

    static <T> List<T> page(ApiRequest r, List<T> sorted, Function<T, String> id, String kind) {
        int limit = limit(r);
        String marker = r.query("marker");
        int start = 0;
        if (marker != null) {
            start = -1;
            for (int i = 0; i < sorted.size(); i++) {
                if (id.apply(sorted.get(i)).equals(marker)) {
                    start = i + 1;
                    break;
                }
            }
            if (start < 0) {
                throw ApiException.badRequest("marker [" + marker + "] not found");
            }
        }
        return sorted.subList(start, Math.min(sorted.size(), start + limit));
    }
}
