/// How the server checks callers.
///
/// With `.hmac` or `.publicKey` every WebSocket upgrade must carry `Authorization: Bearer <JWT>`; the token's
/// `scopes` (or OAuth-style `scope`) claim names the stores the connection may use (`docs/protocol.md`,
/// Authentication). A missing, malformed, badly signed or expired token is refused with HTTP 401.
public enum ServerAuthentication: Sendable {
    /// No check: every caller may use every store. For tests and local development only.
    case none
    /// HS256 tokens signed with this shared secret (at least ``minimumSecretBytes``, as RFC 7518 §3.2 asks).
    case hmac(secret: [UInt8])
    /// Tokens signed with the private key of this PEM public key: ES256 for a P-256 EC key, RS256 for an RSA key
    /// (2048 bits or more). A PEM that is neither makes ``StreamKitServer/start()`` throw `invalidArgument`.
    case publicKey(pem: String)

    /// The shortest HMAC secret accepted: 32 bytes, the size of the SHA-256 output.
    public static let minimumSecretBytes = 32

    /// A short name for logs (never the secret): `none`, `hmac` or `publicKey`.
    var kindName: String {
        switch self {
        case .none: "none"
        case .hmac: "hmac"
        case .publicKey: "publicKey"
        }
    }
}
