import FoundationEssentials
import JWTKit
import StreamKitEngine

/// Checks the bearer token of a WebSocket upgrade request and turns it into the caller's ``StoreAccess``.
///
/// Made once per server start from its ``ServerAuthentication``; ``access(authorization:)`` runs once per
/// upgrade, never per stream or frame. Every refusal is a `StreamKitError` with code `unauthorized`, whose
/// message says why (for logs: the HTTP 401 itself carries no reason).
final class TokenVerifier: Sendable {
    /// The longest bearer token accepted, in bytes.
    static let maxTokenBytes = 8 * 1024

    private enum Mode: Sendable {
        /// No authentication: every caller may use every store.
        case open
        /// Tokens must verify with these keys, signed with `algorithm` (the JWT `alg` header).
        case keys(JWTKeyCollection, algorithm: String)
    }

    private let mode: Mode

    /// Whether upgrades need a token (false for ``ServerAuthentication/none``: nothing to wait for).
    var checksTokens: Bool {
        if case .open = mode { return false }
        return true
    }

    private init(mode: Mode) {
        self.mode = mode
    }

    /// A verifier for `authentication`.
    ///
    /// - Throws: `invalidArgument` when the HMAC secret is shorter than 32 bytes or the PEM is neither a P-256 nor an RSA public key.
    static func make(_ authentication: ServerAuthentication) async throws(StreamKitError) -> TokenVerifier {
        switch authentication {
        case .none:
            return TokenVerifier(mode: .open)
        case .hmac(let secret):
            guard secret.count >= ServerAuthentication.minimumSecretBytes else {
                throw StreamKitError(
                    code: .invalidArgument,
                    message: "the HMAC secret must have at least \(ServerAuthentication.minimumSecretBytes) bytes",
                    limit: ServerAuthentication.minimumSecretBytes, value: secret.count)
            }
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            return TokenVerifier(mode: .keys(keys, algorithm: "HS256"))
        case .publicKey(let pem):
            let keys = JWTKeyCollection()
            if let key = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: key)
                return TokenVerifier(mode: .keys(keys, algorithm: "ES256"))
            }
            if let key = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: key, digestAlgorithm: .sha256)
                return TokenVerifier(mode: .keys(keys, algorithm: "RS256"))
            }
            throw StreamKitError(
                code: .invalidArgument,
                message: "the public key PEM is neither a P-256 EC public key (ES256) nor an RSA public key of "
                    + "2048 bits or more (RS256)")
        }
    }

    /// The access of the caller whose request carried these `Authorization` header values.
    ///
    /// - Parameter authorization: Every `Authorization` header of the request (exactly one `Bearer` is accepted).
    /// - Throws: `unauthorized` when the header is missing, repeated or not `Bearer`, or the token does not
    ///   verify: bad signature, another algorithm, expired or not yet valid, no `exp`, or no valid StreamKit scope.
    func access(authorization: [String]) async throws(StreamKitError) -> StoreAccess {
        guard case .keys(let keys, let algorithm) = mode else { return .all }
        let token = try Self.bearerToken(authorization)
        let claims: StreamKitClaims
        do {
            let header = try DefaultJWTParser().parse(token, as: StreamKitClaims.self).header
            guard header.alg == algorithm else {
                let signedWith = header.alg.map { String($0.prefix(16)) } ?? "no algorithm"
                throw StreamKitError(
                    code: .unauthorized, message: "the token is signed with \(signedWith), expected \(algorithm)")
            }
            claims = try await keys.verify(token, as: StreamKitClaims.self)
        } catch let error as StreamKitError {
            throw error
        } catch {
            throw StreamKitError(code: .unauthorized, message: "the token does not verify: \(error)")
        }
        return try StoreAccess(scopes: claims.allScopes, subject: claims.sub?.value)
    }

    /// The token of the single `Authorization: Bearer <token>` value.
    static func bearerToken(_ values: [String]) throws(StreamKitError) -> [UInt8] {
        guard let value = values.first else {
            throw StreamKitError(code: .unauthorized, message: "no Authorization header")
        }
        guard values.count == 1 else {
            throw StreamKitError(code: .unauthorized, message: "more than one Authorization header")
        }
        let bytes = Array(value.utf8.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        let scheme = bytes.prefix { $0 != UInt8(ascii: " ") }
        guard String(decoding: scheme, as: UTF8.self).lowercased() == "bearer" else {
            throw StreamKitError(code: .unauthorized, message: "the Authorization header is not a Bearer token")
        }
        var token = bytes.dropFirst(scheme.count).drop { $0 == UInt8(ascii: " ") }
        while let last = token.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { token.removeLast() }
        guard !token.isEmpty else {
            throw StreamKitError(code: .unauthorized, message: "the Bearer token is empty")
        }
        guard token.count <= maxTokenBytes else {
            throw StreamKitError(
                code: .unauthorized, message: "the Bearer token is longer than \(maxTokenBytes) bytes",
                limit: maxTokenBytes, value: token.count)
        }
        return Array(token)
    }
}
