#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension StreamKitClient {
    /// Deletes every entry of a segment (`Store.deleteSegment(space:segment:)`).
    ///
    /// Once it returns, no read started afterwards returns the deleted entries, on any node; producing to the
    /// segment continues after its last sequence (sequences are never reused). Over WebSocket the token must
    /// grant deletion (`streamkit::delete:<store>` or `streamkit::delete:*`, `streamkit token --delete`).
    ///
    /// - Returns: How many entries were deleted. After a reconnect the request is sent again, and the count is
    ///   the second attempt's (0 when the first one had deleted them).
    /// - Throws: `notFound` for a segment the store never had (or a store that does not exist), `forbidden`
    ///   without the grant, `unsupported` when the store's storage or the server cannot delete,
    ///   `invalidArgument` for an empty name, `storeClosing` after close.
    @discardableResult
    public func deleteSegment(store: UUID, space: String, segment: String) async throws -> Int {
        try await observer.run("deleteEntries", .init(store: store, space: space, segment: segment)) {
            try check(store: store, names: [("space", space), ("segment", segment)])
            return try await transport.deleteEntries(store: store, space: space, segment: segment, before: nil)
        }
    }

    /// Deletes the entries of a segment with sequences below `sequence` (all of them when it is past the last
    /// one), as ``deleteSegment(store:space:segment:)`` does.
    ///
    /// - Returns: How many entries were deleted.
    /// - Throws: As ``deleteSegment(store:space:segment:)``; `invalidArgument` for sequence 0.
    @discardableResult
    public func truncateSegment(
        store: UUID, space: String, segment: String, before sequence: UInt64
    ) async throws -> Int {
        try await observer.run("deleteEntries", .init(store: store, space: space, segment: segment)) {
            try check(store: store, names: [("space", space), ("segment", segment)])
            guard sequence > 0 else {
                throw StreamKitError.clientInvalidArgument("sequences start at 1: nothing is before 0")
            }
            return try await transport.deleteEntries(store: store, space: space, segment: segment, before: sequence)
        }
    }
}
