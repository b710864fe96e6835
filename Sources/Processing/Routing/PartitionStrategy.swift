/// How `partition(into:by:buffer:)` picks the partition of a value.
public struct PartitionStrategy<Value: Sendable>: Sendable {
    /// Makes the routing function of one partitioner (so round-robin state is not shared between them).
    @usableFromInline let makeRoute: @Sendable () -> @Sendable (Value, Int) -> Int

    @inlinable
    init(makeRoute: @escaping @Sendable () -> @Sendable (Value, Int) -> Int) {
        self.makeRoute = makeRoute
    }

    /// Hashes the key with 64-bit FNV-1a, modulo the partition count: the same key always lands in
    /// the same partition, in every process and every run.
    /// - Parameter key: The partitioning key of a value.
    /// - Returns: The strategy.
    @inlinable
    public static func hash(_ key: @escaping @Sendable (Value) -> String) -> PartitionStrategy {
        PartitionStrategy {
            { value, count in Int(FNV1a.hash(key(value)) % UInt64(count)) }
        }
    }

    /// Deals values to the partitions in turn: 0, 1, …, n-1, 0, …
    @inlinable
    public static var roundRobin: PartitionStrategy {
        PartitionStrategy {
            let counter = ItemCounter()
            return { _, count in
                defer { counter.increment() }
                return counter.value % count
            }
        }
    }

    /// Uses your function. An index outside `0..<count` sends the value to partition 0 and is counted
    /// in ``Partitions/misrouted``.
    /// - Parameter route: The partition index of a value, given the partition count.
    /// - Returns: The strategy.
    @inlinable
    public static func custom(_ route: @escaping @Sendable (Value, Int) -> Int) -> PartitionStrategy {
        PartitionStrategy { route }
    }
}
