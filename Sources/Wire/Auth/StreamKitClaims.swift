import FoundationEssentials
import JWTKit

/// The claims of a StreamKit access token, as the server reads them.
///
/// `exp` is required (a token without it does not decode); `nbf` is honoured when present; `sub` is optional.
/// The stores come from `scopes` (an array of strings) and the OAuth-style `scope` (one space-separated string);
/// both may be present, and their scopes add up.
struct StreamKitClaims: JWTPayload {
    /// Expiration time (required).
    var exp: ExpirationClaim
    /// Not before (optional).
    var nbf: NotBeforeClaim?
    /// The caller (optional).
    var sub: SubjectClaim?
    /// Scopes as an array of strings.
    var scopes: [String]?
    /// Scopes as one space-separated string (OAuth 2.0).
    var scope: String?

    /// Every scope of the token, `scopes` first.
    var allScopes: [String] {
        (scopes ?? []) + (scope?.split(separator: " ").map(String.init) ?? [])
    }

    /// Called by JWTKit once the signature verifies: the token must be current.
    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }
}
