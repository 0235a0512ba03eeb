package io.halcyon.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Reads a request's body before anything else runs, without a thread: the bytes are delivered as
 * they arrive, and the request goes on to the handlers behind once the body is whole (in the
 * attribute {@link HttpListener#BODY}). A body that has not arrived by its deadline (the body timeout
 * plus its length at the minimum rate) is given up: the request goes on with
 * {@link HttpListener#BODY_FAILURE} set, and the handler answers 408 and closes the connection. So a
 * slow sender costs a socket, never a worker thread or a place among the active requests.
 * Streamed bodies (uploads) and bodies past the size limit pass through unread.
 */
final class BodyReader extends Handler.Wrapper {
    private final ConnectionGuard guard;
    private final Limits limits;
    private final int maxBodyBytes;
    private final Predicate<Request> streamed;
    private final ScheduledExecutorService timer;

    BodyReader(Handler next, ConnectionGuard guard, Limits limits, int maxBodyBytes, Predicate<Request> streamed,
               ScheduledExecutorService timer) {
        super(next);
        this.guard = guard;
        this.limits = limits;
        this.maxBodyBytes = maxBodyBytes;
        this.streamed = streamed;
        this.timer = timer;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        guard.started(request);
        Callback done = Callback.from(callback, () -> guard.ended(request));
        long length = request.getLength();
        boolean chunked = length < 0 && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        if ((length <= 0 && !chunked) || length > maxBodyBytes || streamed.test(request)) {
            return next(request, response, done);
        }
        long expect = length > 0 ? length : maxBodyBytes;
        long deadlineMillis = limits.bodyTimeout().toMillis() + expect * 1000 / limits.minBodyRate();
        CompletableFuture<byte[]> body = Content.Source.asByteArrayAsync(request, maxBodyBytes + 1);
        var timeout = timer.schedule(() -> {
            if (body.completeExceptionally(new TimeoutException("the request body did not arrive within " + deadlineMillis + " ms"))) {
                request.fail(new TimeoutException("request body timed out"));
            }
        }, deadlineMillis, TimeUnit.MILLISECONDS);
        Executor executor = request.getComponents().getExecutor();
        body.whenComplete((bytes, error) -> {
            timeout.cancel(false);
            executor.execute(() -> {
                if (error != null) {
                    request.setAttribute(io.halcyon.http.HttpListener.BODY_FAILURE, unwrap(error) instanceof TimeoutException ? io.halcyon.http.HttpListener.TIMED_OUT
                            : "the request body could not be read: " + unwrap(error).getMessage());
                } else {
                    request.setAttribute(io.halcyon.http.HttpListener.BODY, bytes);
                }
                try {
                    if (!next(request, response, done)) {
                        Response.writeError(request, response, done, 404);
                    }
                } catch (Throwable t) {
                    done.failed(t);
                }
            });
        });
        return true;
    }

    private boolean next(Request request, Response response, Callback callback) throws Exception {
        Handler h = getHandler();
        return h != null && h.handle(request, response, callback);
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
