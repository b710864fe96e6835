#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension StreamKitClient {
    /// The store's retention: the policy of its own, if it has one, and the default the server is configured with
    /// (`streamkit serve --retention-…`), which applies otherwise.
    ///
    /// - Returns: A store that does not exist has no policy of its own.
    /// - Throws: `unsupported` when the server cannot keep retention policies, `storeClosing` after close.
    public func retention(store: UUID) async throws -> StoreRetention {
        try await observer.run("retention", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.retention(store: store)
        }
    }

    /// Gives the store a retention policy of its own, which replaces the server's default whole (a bound left nil
    /// is not bounded); nil goes back to the default (`Store.setRetentionPolicy(_:)`). Recorded with the store's
    /// log before it returns, so it holds after restarts and on every node; the server's background pass applies
    /// it (every `--compaction-interval`). Over WebSocket the token must grant deletion (`streamkit::delete:<store>`
    /// or `streamkit::delete:*`): a policy deletes entries.
    ///
    /// - Returns: The store's retention now.
    /// - Throws: `invalidArgument` for a bound below 1 (checked before anything is sent), `notFound` for a store
    ///   that does not exist, `forbidden` without the grant, `unsupported` when the server or the store's storage
    ///   cannot keep a policy, `storeClosing` after close.
    @discardableResult
    public func setRetentionPolicy(store: UUID, _ policy: LogRetention.Policy?) async throws -> StoreRetention {
        try await observer.run("setRetention", .init(store: store)) {
            try check(store: store, names: [])
            if let problem = policy?.invalidBound { throw StreamKitError.clientInvalidArgument(problem) }
            return try await transport.setRetention(store: store, policy: policy)
        }
    }
}
