package io.halcyon.api.http;

import io.halcyon.api.auth.AuthContext;

/** Turns a request's credentials into a caller, or fails with 401. */
public interface Authenticator {
    AuthContext authenticate(ApiRequest request, Router.Auth kind);
}
