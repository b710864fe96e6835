import ArgumentParser
import Foundation
import StreamKitWire

/// `streamkit token --secret S (--store ID … | --all) [--delete] [--subject NAME] [--expires-in SECONDS]`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print an HS256 access token for a server run with --jwt-secret.",
        discussion: """
            The token grants the stores named with --store (repeatable) or every store with --all; one of them \
            is required. The secret can also come from \(ServeCommand.secretVariable). Pass the token to \
            publish, tail and replay with --token or the environment variable \(Remote.tokenVariable).
            """)

    @Option(name: .long, help: "The server's secret (or set \(ServeCommand.secretVariable)).")
    var secret: String?

    @Option(name: .customLong("store"), help: "A store the token grants (repeatable).")
    var stores: [String] = []

    @Flag(name: .long, help: "Grant every store.")
    var all = false

    @Flag(name: .long, help: "Also grant deleting entries of those stores (streamkit delete).")
    var delete = false

    @Option(name: .long, help: "The token's subject (sub claim): who the caller is, for logs.")
    var subject: String?

    @Option(name: .customLong("expires-in"), help: "Seconds until the token expires.")
    var expiresIn: Int = 3600

    var resolvedSecret: String? {
        if let secret, !secret.isEmpty { return secret }
        if let value = ProcessInfo.processInfo.environment[ServeCommand.secretVariable], !value.isEmpty { return value }
        return nil
    }

    func validate() throws {
        guard let resolvedSecret else {
            throw ValidationError("give the server's secret with --secret or \(ServeCommand.secretVariable)")
        }
        try ServeCommand.checkSecret(resolvedSecret, source: secret != nil ? "--secret" : ServeCommand.secretVariable)
        if all && !stores.isEmpty { throw ValidationError("give either --store IDs or --all, not both") }
        if !all && stores.isEmpty {
            throw ValidationError("say which stores the token grants: --store ID (repeatable) or --all")
        }
        for store in stores { _ = try Remote.storeID(store) }
        if expiresIn <= 0 { throw ValidationError("--expires-in must be a positive number of seconds") }
    }

    func run() async throws {
        try await Output.run {
            let scope: StoreScope = all ? .all : .stores(try stores.map(Remote.storeID))
            let token = try StreamKitToken.hmac(
                secret: Array((resolvedSecret ?? "").utf8), stores: scope, subject: subject, mayDelete: delete,
                expiresIn: .seconds(expiresIn))
            Output.line(token)
        }
    }
}
