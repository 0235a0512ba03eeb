package io.halcyon.api;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.TokenService;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Authenticator;
import io.halcyon.api.http.Router;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import static java.util.Objects.requireNonNull;

/** Users authenticate with Keystone tokens; agents with the cluster's shared agent token. */
public final class ApiAuthenticator implements Authenticator {
    public static final String AGENT_HEADER = "X-Halcyon-Agent-Token";

    private final TokenService tokens;
    private final byte[] agentToken;

    public ApiAuthenticator(TokenService tokens, String agentToken) {
        this.tokens = requireNonNull(tokens, "tokens is null");
        this.agentToken = requireNonNull(agentToken, "agentToken is null").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public AuthContext authenticate(ApiRequest request, Router.Auth kind) {
        return switch (kind) {
            case NONE -> null;
            case TOKEN -> tokens.validate(request.header("X-Auth-Token"));
            case AGENT -> {
                String given = request.header(AGENT_HEADER);
                if (given == null || !MessageDigest.isEqual(agentToken, given.getBytes(StandardCharsets.UTF_8))) {
                    throw ApiException.unauthorized("Agent API calls need the cluster's agent token.");
                }
                yield AuthContext.agentCaller();
            }
        };
    }
}
