import Crypto
import FoundationEssentials
import StreamKitEngine

/// Makes StreamKit access tokens (JWTs) for callers of a ``StreamKitServer`` that checks
/// ``ServerAuthentication/hmac(secret:)`` tokens: for the command-line tool, tests and small deployments.
///
/// A token carries `exp`, `iat`, optionally `sub`, and a `scopes` claim with `streamkit::*` or one
/// `streamkit::<uuid>` per store (`docs/protocol.md`, Authentication). Tokens for a public-key server are
/// made by whoever holds the private key, with any JWT library.
public enum StreamKitToken {
    /// An HS256 token signed with a shared secret.
    ///
    /// - Parameters:
    ///   - secret: The server's secret (at least 32 bytes; 32 random bytes is right).
    ///   - stores: The stores the token grants.
    ///   - subject: The `sub` claim: who the caller is, for logs.
    ///   - mayDelete: Whether the token also grants deleting entries of those stores (`streamkit::delete:` scopes).
    ///   - expiresIn: How long from now the token is valid. Default one hour.
    /// - Returns: The compact JWT, to send as `Authorization: Bearer <token>`.
    /// - Throws: `invalidArgument` when the secret is shorter than 32 bytes, `stores` names no store, or `expiresIn` is not
    ///   positive.
    public static func hmac(
        secret: [UInt8], stores: StoreScope, subject: String? = nil, mayDelete: Bool = false,
        expiresIn: Duration = .seconds(3600)
    ) throws -> String {
        guard secret.count >= ServerAuthentication.minimumSecretBytes else {
            throw StreamKitError(
                code: .invalidArgument,
                message: "the HMAC secret must have at least \(ServerAuthentication.minimumSecretBytes) bytes",
                limit: ServerAuthentication.minimumSecretBytes, value: secret.count)
        }
        if case .stores(let list) = stores, list.isEmpty {
            throw StreamKitError(code: .invalidArgument, message: "a token must grant at least one store")
        }
        guard expiresIn > .zero else {
            throw StreamKitError(
                code: .invalidArgument, message: "a token's lifetime must be positive, got \(expiresIn)")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let lifetime = expiresIn.components.seconds + (expiresIn.components.attoseconds > 0 ? 1 : 0)
        let claims = Claims(
            exp: now + lifetime, iat: now, sub: subject,
            scopes: Array(Set(mayDelete ? stores.deletionClaimValues : stores.claimValues)).sorted())
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload: String
        do {
            payload = base64URL(Array(try encoder.encode(claims)))
        } catch {
            throw StreamKitError(code: .internalError, message: "cannot encode the token's claims: \(error)")
        }
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(
            for: Array(signingInput.utf8), using: SymmetricKey(data: secret))
        return signingInput + "." + base64URL(Array(signature))
    }

    /// The claims this helper writes.
    private struct Claims: Encodable {
        var exp: Int64
        var iat: Int64
        var sub: String?
        var scopes: [String]
    }

    /// Base64url without padding (RFC 7515 §2).
    private static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}
