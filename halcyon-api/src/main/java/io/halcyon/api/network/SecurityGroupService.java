package io.halcyon.api.network;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.network.Ipv4;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.SecurityGroup;
import io.halcyon.model.network.SecurityGroupRule;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * Neutron's security groups and rules. Each project gets its "default" group the first time it
 * needs one: its id is derived from the project's, so concurrent first uses create it once. Like
 * Neutron's, it lets all traffic out and lets in traffic from members of the same group.
 */
public final class SecurityGroupService {
    private static final Logger log = LoggerFactory.getLogger(SecurityGroupService.class);
    private static final Map<String, Integer> PROTOCOLS = Map.of("tcp", 6, "udp", 17, "icmp", 1, "icmpv6", 58, "sctp", 132);

    private final Resources res;
    private final NetworkQuotas quotas;
    private final Repository<SecurityGroup> groups;
    private final Repository<SecurityGroupRule> rules;

    public SecurityGroupService(Resources res, NetworkQuotas quotas) {
        this.res = requireNonNull(res, "res is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.groups = res.repo(Kinds.SECURITY_GROUPS);
        this.rules = res.repo(Kinds.SECURITY_GROUP_RULES);
    }

    static String defaultId(String project) {
        return UUID.nameUUIDFromBytes(("halcyon-default-security-group:" + project).getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** The project's default group, made now if it does not exist; returns its id. */
    public String ensureDefault(String project) {
        String id = defaultId(project);
        res.sync();
        if (res.securityGroups().get(id).isPresent()) {
            return id;
        }
        Instant now = res.clock().now();
        var g = new SecurityGroup(id, project, SecurityGroup.DEFAULT, "Default security group", true, now, now, 0);
        var txn = Txn.builder().when(groups.absent(id)).onSuccess(groups.put(g));
        for (String ether : List.of("IPv4", "IPv6")) {
            txn.onSuccess(rules.put(new SecurityGroupRule(Ids.newId(), project, id, SecurityGroupRule.EGRESS, ether, null, null, null, null,
                    null, null, now, now)));
            txn.onSuccess(rules.put(new SecurityGroupRule(Ids.newId(), project, id, SecurityGroupRule.INGRESS, ether, null, null, null, null,
                    id, null, now, now)));
        }
        TxnResult r = res.store().txn(txn.build());
        if (r.succeeded()) {
            res.awaitRevision(r.revision());
            log.info("event=security_group_created security_group_id={} project_id={} default=true", id, project);
        } else {
            res.sync();
        }
        return id;
    }

    public Versioned<SecurityGroup> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_security_group");
        res.sync();
        return res.securityGroups().get(id).filter(g -> ctx.isAdmin() || g.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> NetworkErrors.securityGroupNotFound(id));
    }

    /** Security groups named in a port request (ids, or names of the caller's groups), checked to exist. */
    public List<String> resolve(AuthContext ctx, List<String> idsOrNames) {
        res.sync();
        var out = new LinkedHashSet<String>();
        for (String s : idsOrNames) {
            if (SecurityGroup.DEFAULT.equals(s)) {
                out.add(ensureDefault(ctx.projectId()));
                continue;
            }
            var byId = res.securityGroups().get(s).filter(g -> ctx.isAdmin() || g.value().projectId().equals(ctx.projectId()));
            if (byId.isPresent()) {
                out.add(s);
                continue;
            }
            var byName = res.securityGroups().byIndex(Resources.BY_PROJECT, ctx.projectId()).stream()
                    .filter(g -> g.value().name().equals(s)).toList();
            if (byName.size() == 1) {
                out.add(byName.get(0).value().id());
            } else if (byName.size() > 1) {
                throw ApiException.conflict("Multiple security groups are named " + s + "; use an id.").withType("NoUniqueMatch");
            } else {
                throw NetworkErrors.securityGroupNotFound(s);
            }
        }
        return List.copyOf(out);
    }

    public List<SecurityGroup> list(AuthContext ctx) {
        Policy.requireReader(ctx, "get_security_group");
        if (ctx.projectId() != null) {
            ensureDefault(ctx.projectId());
        }
        res.sync();
        var all = ctx.isAdmin() ? res.securityGroups().list() : res.securityGroups().byIndex(Resources.BY_PROJECT, ctx.projectId());
        return all.stream().map(Versioned::value).sorted(Comparator.comparing(SecurityGroup::createdAt).thenComparing(SecurityGroup::id))
                .toList();
    }

    public List<SecurityGroupRule> rulesOf(String groupId) {
        return res.securityGroupRules().byIndex(Resources.BY_GROUP, groupId).stream().map(Versioned::value)
                .sorted(Comparator.comparing(SecurityGroupRule::createdAt).thenComparing(SecurityGroupRule::id)).toList();
    }

    public List<SecurityGroupRule> listRules(AuthContext ctx) {
        Policy.requireReader(ctx, "get_security_group_rule");
        res.sync();
        return res.securityGroupRules().list().stream().map(Versioned::value)
                .filter(r -> ctx.isAdmin() || r.projectId().equals(ctx.projectId()))
                .sorted(Comparator.comparing(SecurityGroupRule::createdAt).thenComparing(SecurityGroupRule::id)).toList();
    }

    public SecurityGroup create(AuthContext ctx, String name, String description, Boolean stateful) {
        Policy.requireMember(ctx, "create_security_group");
        if (SecurityGroup.DEFAULT.equals(name)) {
            throw ApiException.conflict("Default security group already exists.").withType("SecurityGroupDefaultAlreadyExists");
        }
        ensureDefault(ctx.projectId());
        quotas.check(ctx.projectId(), "security_group", 1);
        Instant now = res.clock().now();
        var g = new SecurityGroup(Ids.newId(), ctx.projectId(), name, description, stateful == null || stateful, now, now, 0);
        var txn = Txn.builder().when(groups.absent(g.id())).onSuccess(groups.put(g));
        for (String ether : List.of("IPv4", "IPv6")) {
            txn.onSuccess(rules.put(new SecurityGroupRule(Ids.newId(), ctx.projectId(), g.id(), SecurityGroupRule.EGRESS, ether, null, null,
                    null, null, null, null, now, now)));
        }
        TxnResult r = res.store().txn(txn.build());
        res.awaitRevision(r.revision());
        log.info("event=security_group_created security_group_id={} project_id={}", g.id(), g.projectId());
        return g;
    }

    public SecurityGroup update(AuthContext ctx, String id, String name, String description) {
        Policy.requireMember(ctx, "update_security_group");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<SecurityGroup> cur = visible(ctx, id);
            if (name != null && SecurityGroup.DEFAULT.equals(cur.value().name()) && !name.equals(SecurityGroup.DEFAULT)) {
                throw ApiException.conflict("Insufficient rights for updating default security group name.")
                        .withType("SecurityGroupCannotUpdateDefault");
            }
            SecurityGroup next = cur.value().withDetails(name == null ? cur.value().name() : name,
                    description == null ? cur.value().description() : description, res.clock().now());
            TxnResult r = res.store().txn(Txn.builder().when(groups.unchanged(id, cur.revision())).onSuccess(groups.put(next)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
        }
        throw NetworkErrors.busy("Security group " + id);
    }

    public void delete(AuthContext ctx, String id) {
        Policy.requireMember(ctx, "delete_security_group");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<SecurityGroup> cur = visible(ctx, id);
            if (SecurityGroup.DEFAULT.equals(cur.value().name()) && !ctx.isAdmin()) {
                throw ApiException.conflict("Insufficient rights for removing default security group.")
                        .withType("SecurityGroupCannotRemoveDefault");
            }
            boolean inUse = res.ports().list().stream().anyMatch(p -> p.value().securityGroups().contains(id));
            if (inUse) {
                throw ApiException.conflict("Security Group " + id + " in use.").withType("SecurityGroupInUse");
            }
            boolean referenced = res.securityGroupRules().list().stream()
                    .anyMatch(r -> id.equals(r.value().remoteGroupId()) && !r.value().securityGroupId().equals(id));
            if (referenced) {
                throw ApiException.conflict("Security Group " + id + " is the remote group of rules of other groups.")
                        .withType("SecurityGroupInUse");
            }
            var txn = Txn.builder().when(groups.unchanged(id, cur.revision())).onSuccess(groups.deleteOp(id));
            for (SecurityGroupRule r : rulesOf(id)) {
                txn.onSuccess(rules.deleteOp(r.id()));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=security_group_deleted security_group_id={}", id);
                return;
            }
        }
        throw NetworkErrors.busy("Security group " + id);
    }

    public record RuleRequest(String securityGroupId, String direction, String ethertype, String protocol, Integer portRangeMin,
                              Integer portRangeMax, String remoteIpPrefix, String remoteGroupId, String description) {
    }

    public SecurityGroupRule createRule(AuthContext ctx, RuleRequest req) {
        Policy.requireMember(ctx, "create_security_group_rule");
        if (req.securityGroupId() == null) {
            throw NetworkErrors.invalid("security_group_id is required.");
        }
        Versioned<SecurityGroup> group = visible(ctx, req.securityGroupId());
        String direction = req.direction();
        if (!SecurityGroupRule.INGRESS.equals(direction) && !SecurityGroupRule.EGRESS.equals(direction)) {
            throw ApiException.badRequest("Invalid input for direction. Reason: " + direction + " is not in ['ingress', 'egress'].")
                    .withType("InvalidInput");
        }
        String ether = req.ethertype() == null ? "IPv4" : req.ethertype();
        if (!ether.equals("IPv4") && !ether.equals("IPv6")) {
            throw ApiException.badRequest("Invalid input for ethertype. Reason: " + ether + " is not in ['IPv4', 'IPv6'].")
                    .withType("InvalidInput");
        }
        String protocol = normaliseProtocol(req.protocol());
        Integer min = req.portRangeMin();
        Integer max = req.portRangeMax();
        if ((min != null || max != null) && protocol == null) {
            throw ApiException.badRequest("Must also specify protocol if port range is given.").withType("SecurityGroupProtocolRequiredWithPorts");
        }
        if (protocol != null && (protocol.equals("tcp") || protocol.equals("udp") || protocol.equals("sctp")
                || protocol.equals("6") || protocol.equals("17") || protocol.equals("132"))) {
            if ((min == null) != (max == null)) {
                min = min == null ? max : min;
                max = max == null ? min : max;
            }
            if (min != null && (min < 1 || max > 65535 || min > max)) {
                throw ApiException.badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max and both within 1-65535.")
                        .withType("SecurityGroupInvalidPortRange");
            }
        } else if (protocol != null && (protocol.equals("icmp") || protocol.equals("icmpv6") || protocol.equals("1") || protocol.equals("58"))) {
            if ((min != null && (min < 0 || min > 255)) || (max != null && (max < 0 || max > 255))) {
                throw ApiException.badRequest("Invalid value for ICMP field (type or code): must be 0 to 255.")
                        .withType("SecurityGroupInvalidIcmpValue");
            }
            if (max != null && min == null) {
                throw ApiException.badRequest("ICMP code (port-range-max) " + max + " is provided but ICMP type (port-range-min) is missing.")
                        .withType("SecurityGroupMissingIcmpType");
            }
        } else if (min != null || max != null) {
            throw ApiException.badRequest("Port ranges are supported only for TCP, UDP, SCTP and ICMP.").withType("InvalidInput");
        }
        String prefix = req.remoteIpPrefix();
        if (prefix != null && req.remoteGroupId() != null) {
            throw ApiException.badRequest("Only remote_ip_prefix or remote_group_id may be provided.")
                    .withType("SecurityGroupRemoteGroupAndRemoteIpPrefix");
        }
        if (prefix != null) {
            if (ether.equals("IPv6")) {
                throw NetworkErrors.invalid("IPv6 remote prefixes are not supported by this Halcyon release.");
            }
            try {
                prefix = Ipv4.Cidr.parse(prefix.contains("/") ? prefix : prefix + "/32", false).toString();
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("Invalid input for remote_ip_prefix. Reason: " + e.getMessage() + ".").withType("InvalidInput");
            }
        }
        if (req.remoteGroupId() != null) {
            visible(ctx, req.remoteGroupId());
        }
        String projectId = group.value().projectId();
        for (SecurityGroupRule r : rulesOf(group.value().id())) {
            if (r.direction().equals(direction) && r.ethertype().equals(ether) && Objects.equals(r.protocol(), protocol)
                    && Objects.equals(r.portRangeMin(), min) && Objects.equals(r.portRangeMax(), max)
                    && Objects.equals(r.remoteIpPrefix(), prefix) && Objects.equals(r.remoteGroupId(), req.remoteGroupId())) {
                throw ApiException.conflict("Security group rule already exists. Rule id is " + r.id() + ".").withType("SecurityGroupRuleExists");
            }
        }
        quotas.check(projectId, "security_group_rule", 1);
        Instant now = res.clock().now();
        var rule = new SecurityGroupRule(Ids.newId(), projectId, group.value().id(), direction, ether, protocol, min, max, prefix,
                req.remoteGroupId(), req.description(), now, now);
        TxnResult r = res.store().txn(Txn.builder().when(groups.unchanged(group.value().id(), group.revision()), rules.absent(rule.id()))
                .onSuccess(rules.put(rule), groups.put(group.value().withDetails(group.value().name(), group.value().description(), now)))
                .build());
        if (!r.succeeded()) {
            throw NetworkErrors.busy("Security group " + group.value().id());
        }
        res.awaitRevision(r.revision());
        log.info("event=security_group_rule_created rule_id={} security_group_id={}", rule.id(), rule.securityGroupId());
        return rule;
    }

    static String normaliseProtocol(String p) {
        if (p == null || p.isEmpty() || p.equalsIgnoreCase("any")) {
            return null;
        }
        String lower = p.toLowerCase();
        if (PROTOCOLS.containsKey(lower)) {
            return lower;
        }
        if (lower.matches("\\d{1,3}") && Integer.parseInt(lower) <= 255) {
            return lower;
        }
        throw ApiException.badRequest("Security group rule protocol " + p + " not supported. Only protocol values [None, tcp, udp, icmp, "
                + "icmpv6, sctp] and integer representations [0 to 255] are supported.").withType("SecurityGroupRuleInvalidProtocol");
    }

    public Versioned<SecurityGroupRule> visibleRule(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_security_group_rule");
        res.sync();
        return res.securityGroupRules().get(id).filter(r -> ctx.isAdmin() || r.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> NetworkErrors.ruleNotFound(id));
    }

    public void deleteRule(AuthContext ctx, String id) {
        Policy.requireMember(ctx, "delete_security_group_rule");
        Versioned<SecurityGroupRule> cur = visibleRule(ctx, id);
        String groupId = cur.value().securityGroupId();
        for (int attempt = 0; attempt < 20; attempt++) {
            res.sync();
            var group = res.securityGroups().get(groupId);
            var txn = Txn.builder().when(rules.unchanged(id, cur.revision())).onSuccess(rules.deleteOp(id));
            group.ifPresent(g -> txn.when(groups.unchanged(groupId, g.revision()))
                    .onSuccess(groups.put(g.value().withDetails(g.value().name(), g.value().description(), res.clock().now()))));
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=security_group_rule_deleted rule_id={}", id);
                return;
            }
            cur = visibleRule(ctx, id);
        }
        throw NetworkErrors.busy("Security group rule " + id);
    }

    /** Member ports of a group, for views and the data plane. */
    public List<Port> members(String groupId) {
        var out = new ArrayList<Port>();
        for (Versioned<Port> p : res.ports().list()) {
            if (p.value().securityGroups().contains(groupId)) {
                out.add(p.value());
            }
        }
        return out;
    }
}
