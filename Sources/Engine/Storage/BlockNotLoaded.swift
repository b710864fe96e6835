/// Thrown by ``StoreStorage/readBlock(at:)`` of a storage that cannot read a block without waiting for the
/// network (PostgreSQL): the reader then awaits ``StoreStorage/loadBlocks(from:)`` and tries again, so that no
/// thread of the concurrency pool ever blocks on a database round trip.
public struct BlockNotLoaded: Error, Sendable, Hashable {
    /// The block asked for.
    public var index: Int

    /// Creates the signal for block `index`.
    public init(index: Int) { self.index = index }
}
