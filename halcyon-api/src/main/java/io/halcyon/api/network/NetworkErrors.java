package io.halcyon.api.network;

import io.halcyon.api.http.ApiException;

/** Neutron's errors, with the types its clients and users recognise. */
final class NetworkErrors {
    private NetworkErrors() {
    }

    static ApiException invalid(String message) {
        return ApiException.badRequest("Invalid input for operation: " + message).withType("InvalidInput");
    }

    static ApiException networkNotFound(String id) {
        return ApiException.notFound("Network " + id + " could not be found.").withType("NetworkNotFound");
    }

    static ApiException subnetNotFound(String id) {
        return ApiException.notFound("Subnet " + id + " could not be found.").withType("SubnetNotFound");
    }

    static ApiException portNotFound(String id) {
        return ApiException.notFound("Port " + id + " could not be found.").withType("PortNotFound");
    }

    static ApiException securityGroupNotFound(String id) {
        return ApiException.notFound("Security group " + id + " does not exist").withType("SecurityGroupNotFound");
    }

    static ApiException ruleNotFound(String id) {
        return ApiException.notFound("Security group rule " + id + " does not exist").withType("SecurityGroupRuleNotFound");
    }

    static ApiException routerNotFound(String id) {
        return ApiException.notFound("Router " + id + " could not be found").withType("RouterNotFound");
    }

    static ApiException floatingIpNotFound(String id) {
        return ApiException.notFound("Floating IP " + id + " could not be found").withType("FloatingIPNotFound");
    }

    static ApiException overQuota(String resource) {
        return ApiException.conflict("Quota exceeded for resources: ['" + resource + "'].").withType("OverQuota");
    }

    static ApiException busy(String what) {
        return ApiException.conflict(what + " changed concurrently too many times; retry.");
    }

    static ApiException forbidden(String action) {
        return ApiException.forbidden("(rule:" + action + ") is disallowed by policy").withType("PolicyNotAuthorized");
    }
}
