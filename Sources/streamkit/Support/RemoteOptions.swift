import ArgumentParser
import Foundation

/// The server, store and token of a command that talks to a `streamkit serve` (`publish`, `tail`).
struct RemoteOptions: ParsableArguments {
    @Argument(help: "The server's URL, e.g. ws://127.0.0.1:7420/streamkit.")
    var url: String

    @Option(name: .long, help: "The store id.")
    var store: String

    @Option(name: .long, help: "The bearer token (or set \(Remote.tokenVariable)).")
    var token: String?

    @Option(
        name: .customLong("ca-file"),
        help: "With wss://, trust the CA certificates of this PEM file instead of the system's trust store.")
    var caFile: String?

    func validate() throws {
        try Remote.validate(url: url)
        _ = try Remote.storeID(store)
    }

    /// The store id, checked by `validate()`.
    func storeID() throws -> UUID { try Remote.storeID(store) }

    /// The token from `--token` or the environment.
    func resolvedToken() -> String? { Remote.token(token) }
}
