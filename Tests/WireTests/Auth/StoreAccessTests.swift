import StreamKitEngine
import Testing

@testable import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Scope parsing, bearer header parsing and the token helper, without a server.
struct StoreAccessTests {
    @Test("streamkit::* grants every store")
    func wildcardGrantsEverything() throws {
        let access = try StoreAccess(scopes: ["streamkit::*"], subject: "s")

        #expect(access.allows(UUID()))
        #expect(access.subject == "s")
    }

    @Test("streamkit::<uuid> scopes grant exactly their stores, in either case, and other services' scopes are ignored")
    func storeScopesGrantTheirStores() throws {
        let first = UUID()
        let second = UUID()
        let access = try StoreAccess(
            scopes: [
                "openid", "streamkit::\(first.uuidString.lowercased())", "streamkit::\(second.uuidString)", "x::y",
            ],
            subject: nil)

        #expect(access.allows(first))
        #expect(access.allows(second))
        #expect(!access.allows(UUID()))
    }

    @Test("streamkit::delete: scopes grant their stores and deleting their entries; plain scopes grant no deletion")
    func deleteScopesGrantDeletion() throws {
        let deletable = UUID()
        let readable = UUID()
        let access = try StoreAccess(
            scopes: ["streamkit::delete:\(deletable.uuidString.lowercased())", "streamkit::\(readable.uuidString)"],
            subject: nil)
        let everything = try StoreAccess(scopes: ["streamkit::delete:*"], subject: nil)
        let plain = try StoreAccess(scopes: ["streamkit::*"], subject: nil)

        #expect(access.allows(deletable) && access.allowsDeletion(in: deletable))
        #expect(access.allows(readable) && !access.allowsDeletion(in: readable))
        #expect(everything.allows(UUID()) && everything.allowsDeletion(in: UUID()))
        #expect(!plain.allowsDeletion(in: UUID()))
        #expect(StoreAccess.all.allowsDeletion(in: UUID()))  // A server without authentication.
    }

    @Test(
        "a malformed streamkit scope, or none at all, is unauthorized",
        arguments: [
            ["streamkit::nope"], ["streamkit::"], ["streamkit::*", "streamkit::1234"], ["openid"], [],
            ["streamkit::delete:"],
            ["streamkit::delete"],
        ])
    func badScopesAreUnauthorized(scopes: [String]) {
        let error = #expect(throws: StreamKitError.self) { try StoreAccess(scopes: scopes, subject: nil) }

        #expect(error?.code == .unauthorized)
    }

    @Test("the Bearer scheme is case-insensitive and surrounding spaces are ignored")
    func bearerParsing() throws {
        #expect(try TokenVerifier.bearerToken(["bearer a.b.c"]) == Array("a.b.c".utf8))
        #expect(try TokenVerifier.bearerToken(["  BEARER   a.b.c  "]) == Array("a.b.c".utf8))
    }

    @Test(
        "no header, two headers, another scheme, an empty or an oversized token are unauthorized",
        arguments: [
            [], ["Bearer a", "Bearer b"], ["Basic a"], ["Bearer "], ["Bearer " + String(repeating: "a", count: 8193)],
        ])
    func badBearerHeaders(values: [String]) {
        let error = #expect(throws: StreamKitError.self) { try TokenVerifier.bearerToken(values) }

        #expect(error?.code == .unauthorized)
    }

    @Test("the HMAC helper's token verifies with its secret and grants exactly its stores")
    func helperTokenVerifies() async throws {
        let store = UUID()
        let token = try StreamKitToken.hmac(secret: TestTokens.secret, stores: .stores([store, store]), subject: "cli")
        let verifier = try await TokenVerifier.make(.hmac(secret: TestTokens.secret))

        let access = try await verifier.access(authorization: ["Bearer \(token)"])

        #expect(access.allows(store))
        #expect(!access.allows(UUID()))
        #expect(access.subject == "cli")
    }

    @Test("the HMAC helper refuses an empty secret, no stores and a lifetime that is not positive")
    func helperRefusesBadArguments() {
        let calls: [() throws -> String] = [
            { try StreamKitToken.hmac(secret: [], stores: .all) },
            { try StreamKitToken.hmac(secret: TestTokens.secret, stores: .stores([])) },
            { try StreamKitToken.hmac(secret: TestTokens.secret, stores: .all, expiresIn: .zero) },
        ]
        for call in calls {
            let error = #expect(throws: StreamKitError.self) { _ = try call() }

            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("without authentication any header, or none, grants every store")
    func noneGrantsEverything() async throws {
        let verifier = try await TokenVerifier.make(.none)

        #expect(try await verifier.access(authorization: []).allows(UUID()))
        #expect(try await verifier.access(authorization: ["Bearer garbage"]).allows(UUID()))
        #expect(!verifier.checksTokens)
    }
}
