import JWTKit
import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Claims as a third-party issuer would write them, every one optional so tests can leave any out.
struct TestClaims: JWTPayload {
    var exp: ExpirationClaim?
    var sub: SubjectClaim?
    var scopes: [String]?
    var scope: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Tokens signed with JWTKit (not with ``StreamKitToken``), so the server is checked against an independent
/// issuer, and keys for the public-key algorithms.
enum TestTokens {
    /// The shared secret of the HMAC tests.
    static let secret = Array("streamkit-test-secret-0123456789abcdef".utf8)

    /// Claims valid for an hour with these scopes.
    static func claims(scopes: [String]? = nil, scope: String? = nil, expiresIn seconds: Double = 3600) -> TestClaims {
        TestClaims(
            exp: ExpirationClaim(value: Date(timeIntervalSinceNow: seconds)), sub: "tester", scopes: scopes,
            scope: scope)
    }

    /// An HS256 token over `claims`, signed with `secret`.
    static func hmac(_ claims: TestClaims, secret: [UInt8] = TestTokens.secret) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }

    /// An ES256 token over `claims`, signed with `key`.
    static func es256(_ claims: TestClaims, key: ES256PrivateKey) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key)
        return try await keys.sign(claims)
    }

    /// An RS256 token over `claims`, signed with the RSA test key.
    static func rs256(_ claims: TestClaims) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(rsa: try Insecure.RSA.PrivateKey(pem: rsaPrivateKeyPEM), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }

    /// A 2048-bit RSA key made for these tests only (openssl genpkey); it guards nothing.
    static let rsaPrivateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC2ml84DXFEO2W3
        LIo4+FNZii4Z+UNeZHGuu/AhYN3fhdECpmNSY0Z7S1Wvsl0NrpNLw2XBm6owJV1T
        V13iKWb/eosp5pdkE78aRslF5HfKi5fhfKjL/tp8xS4llA5+u5upJ2Tl/tMXUDii
        tOeUBL/mTMzDViQzORb9toIbCM453OzXd6uyBipVcO6AtLPXpCgymxHyqAF/mhu+
        N7YmUI0yq40QKXzWEwd2eRm2O2z5d38TC18kSmo/dvjwkxivnlmr0qGsftWqeY/D
        mEec1MrgE/kTxtV2AhAAvmFPjGQRGStS8yrH8xIhbjZxBfTvr5ywRckMPARcACPn
        PKZvvuYzAgMBAAECggEAU5+8rZHSZloBSfK21kI7AY17cV+qz4aWXVwqK08OLPg+
        cMU8RRW7yGkGs7CuVr61LAQvDIw6U1Q5OhqPnywwxB0dsDGu8SDt6p2yPTTU+0gU
        ZSpOryVmb69pY8I7JSTLs5qb5YxepZWSakkIqMvICjLvryE68M5bThOP38uXjf1t
        x4YoZQjtSxjwvoTRMeocPjA0Wvd7B5cngWjoSSy519nRIs91jeG9UGQgQ2INc//G
        0e7lKlU0ykW2MXdItwSd8ehIXfX7WHelyJTXytXDLiVux6XA6uSuF75mVRx9KboR
        sZJMvLCyH1W8fUeo6y8KIzHJCeNYTw606LjSgoEScQKBgQDerA9gH+IgYv41z7Gl
        3xT/TJVMak9uo0D2nzBQnnHR00X8mz7Rymu/HGKZ1Gqo3AE4dkcsRxWzGz3AmjfR
        j8rkBgyOoEjAUtl0LpvPofCFy2EKOOzDIE0dWzqQWZp3pw5dz8I0IxuIBcj0hepN
        9W6ZyiwMAmKsRcvQE98edmcnuQKBgQDR7wSit236vz4jOQMgEIiOdVeb3SYnr2vK
        O60qBvy0dW6DEX+pJicL4CuHLdrBdBHq69asTHAQRan4KKjCb0kISwrC4CTpHL7S
        IZ4VxcXcjzjSyH3TyjvPX3Twnk30uGKLJ6sWkgfI4seXPX6YJ4VmMukb5jwHwnxi
        17nuRGPbSwKBgFL7HfO9jgBxw7h8AQEGhIWrnYvPpnBdqGz/3/p7QYFnUZKUrDF0
        VPjwdBJNpb3t1wqakWV/zCdmBHpNPnX7NyoI0w8nzlTVyzHP2MLk34SMyUoM8ra4
        x+QjxkxbCASFHgZ50S6q0qy7Mytk6G9LAn+PZyDGls0KaazOavyoNUMJAoGAR0oC
        afseNssgn7dpj0buCGpikMQ9g7Z3RRqUyDPNNr62A346uscA9XBvd50jrxPqTbs+
        kA349B2kBWhRPo2p4E4TXm/dOOgRCKxv0XbypN5h7no0+Gmxe88vl9I6KMNAe37C
        A40dZaNVIc+5IJQzIaxiKp45fm0V7j7Rnc7NlhcCgYAMB3WIUhCOI1e008pJBV0M
        rKKjMJiA4z5KKn8iZR8lnYLfqJxwrN9w2NoCZeUuu82RpcN/+U7kuDDYGvGgAyMS
        XGv58eofLs2YNbRxMz+ZOKuVZ3tKelk9npVfa6k8IzNgfxx/xOu95EyFyEQ6dUbM
        GS7G2Dww2gH3L4TR2wnpAg==
        -----END PRIVATE KEY-----
        """

    /// The public half of ``rsaPrivateKeyPEM``.
    static let rsaPublicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtppfOA1xRDtltyyKOPhT
        WYouGflDXmRxrrvwIWDd34XRAqZjUmNGe0tVr7JdDa6TS8NlwZuqMCVdU1dd4ilm
        /3qLKeaXZBO/GkbJReR3youX4Xyoy/7afMUuJZQOfrubqSdk5f7TF1A4orTnlAS/
        5kzMw1YkMzkW/baCGwjOOdzs13ersgYqVXDugLSz16QoMpsR8qgBf5obvje2JlCN
        MquNECl81hMHdnkZtjts+Xd/EwtfJEpqP3b48JMYr55Zq9KhrH7VqnmPw5hHnNTK
        4BP5E8bVdgIQAL5hT4xkERkrUvMqx/MSIW42cQX076+csEXJDDwEXAAj5zymb77m
        MwIDAQAB
        -----END PUBLIC KEY-----
        """
}
