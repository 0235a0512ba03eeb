package io.halcyon.api.auth;

import io.halcyon.config.ConfigException;
import io.halcyon.config.Sealer;
import io.halcyon.model.Ids;
import io.halcyon.model.identity.TokenKey;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * The token signing keys, kept in the store sealed with the cloud's secret key (never in clear)
 * and opened once each into memory. Every controller signs with the newest key that opens.
 */
public final class TokenKeys {
    private static final Logger log = LoggerFactory.getLogger(TokenKeys.class);

    private final Resources res;
    private final Sealer sealer;
    private final Repository<TokenKey> keys;
    private final Map<String, TokenService.SigningKey> opened = new ConcurrentHashMap<>();

    public TokenKeys(Resources res, Sealer sealer) {
        this.res = requireNonNull(res, "res is null");
        this.sealer = requireNonNull(sealer, "sealer is null");
        this.keys = res.repo(Kinds.TOKEN_KEYS);
    }

    static String context(String keyId) {
        return "token-key:" + keyId;
    }

    /**
     * Makes sure a sealed key exists that this secret key opens, so that start fails, naming the
     * file, when the controller was given another cloud's key. Keys an older release stored in
     * clear are replaced by a new sealed one and deleted: whoever read the store has them, so the
     * tokens they signed stop working.
     */
    public void bootstrap() {
        res.sync();
        var sealed = res.tokenKeys().list().stream().map(Versioned::value).filter(k -> Sealer.isSealed(k.secret())).toList();
        if (!sealed.isEmpty() && sealed.stream().noneMatch(k -> open(k).isPresent())) {
            throw new ConfigException("the secret key file does not open this cloud's token signing keys: every controller of a "
                    + "cloud needs the same controller.secretKeyFile");
        }
        if (sealed.isEmpty()) {
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            String id = Ids.newHexId().substring(0, 8);
            var key = new TokenKey(id, sealer.seal(context(id), Base64.getEncoder().encodeToString(secret)), res.clock().now());
            res.awaitRevision(res.store().txn(Txn.builder().when(keys.absent(id)).onSuccess(keys.put(key)).build()).revision());
            log.info("event=token_key_created key_id={}", id);
        }
        for (Versioned<TokenKey> v : res.tokenKeys().list()) {
            if (!Sealer.isSealed(v.value().secret())) {
                res.store().txn(Txn.builder().when(keys.unchanged(v.value().id(), v.revision())).onSuccess(keys.deleteOp(v.value().id())).build());
                log.warn("event=token_key_in_clear_replaced key_id={} note=\"tokens it signed are no longer valid\"", v.value().id());
            }
        }
        res.sync();
    }

    /** The newest key that opens: every controller picks the same one. */
    public Optional<TokenService.SigningKey> signing() {
        return res.tokenKeys().list().stream().map(Versioned::value).filter(k -> Sealer.isSealed(k.secret()))
                .sorted(Comparator.comparing(TokenKey::createdAt).thenComparing(TokenKey::id).reversed())
                .map(this::open).flatMap(Optional::stream).findFirst();
    }

    public Optional<TokenService.SigningKey> byId(String id) {
        var known = opened.get(id);
        if (known != null) {
            // a deleted key stops validating at once
            return res.tokenKeys().get(id).isPresent() ? Optional.of(known) : Optional.empty();
        }
        return res.tokenKeys().get(id).map(Versioned::value).flatMap(this::open);
    }

    private Optional<TokenService.SigningKey> open(TokenKey k) {
        if (!Sealer.isSealed(k.secret())) {
            return Optional.empty();
        }
        var known = opened.get(k.id());
        if (known != null) {
            return Optional.of(known);
        }
        try {
            var key = new TokenService.SigningKey(k.id(), Base64.getDecoder().decode(sealer.open(context(k.id()), k.secret())));
            opened.put(k.id(), key);
            return Optional.of(key);
        } catch (IllegalArgumentException e) {
            log.warn("event=token_key_unopenable key_id={}", k.id());
            return Optional.empty();
        }
    }
}
