/// Per-item key-value metadata that travels with a ``StreamItem`` through every stage.
///
/// Operators that transform an item (``StreamItem/mapValue(stage:_:)``, `mapValues`, `filterValues`,
/// `concurrentMap`, retries, routing) keep its metadata unchanged, for successes and failures alike.
/// Operators that group items (`batch`, `chunk`, windows) start a new item with empty metadata: a
/// group is a new item. An empty `Metadata` allocates nothing.
public struct Metadata: Sendable, Hashable {
    @usableFromInline
    var storage: [String: MetadataValue]

    /// Creates empty metadata.
    @inlinable
    public init() {
        storage = [:]
    }

    /// Creates metadata holding `entries`.
    /// - Parameter entries: The keys and values; a later duplicate key wins.
    public init(_ entries: [String: MetadataValue]) {
        storage = entries
    }

    /// Whether there are no entries.
    @inlinable
    public var isEmpty: Bool { storage.isEmpty }

    /// The number of entries.
    public var count: Int { storage.count }

    /// The keys, sorted.
    public var keys: [String] { storage.keys.sorted() }

    /// The value stored under `key`; assigning `nil` removes it.
    /// - Parameter key: The key.
    public subscript(key: String) -> MetadataValue? {
        get { storage[key] }
        set { storage[key] = newValue }
    }

    /// A copy with `value` stored under `key`.
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The value to store.
    /// - Returns: The metadata with the entry added or replaced.
    public func setting(_ key: String, to value: MetadataValue) -> Metadata {
        var copy = self
        copy.storage[key] = value
        return copy
    }

    /// A copy merged with `other`.
    /// - Parameter other: Entries to add; they replace entries with the same key.
    /// - Returns: The merged metadata.
    public func merging(_ other: Metadata) -> Metadata {
        Metadata(storage.merging(other.storage) { _, new in new })
    }
}

// MARK: - ExpressibleByDictionaryLiteral

extension Metadata: ExpressibleByDictionaryLiteral {
    /// Creates metadata from a literal such as `["source": "orders", "partition": 3]`.
    /// - Parameter elements: The entries; a later duplicate key wins.
    public init(dictionaryLiteral elements: (String, MetadataValue)...) {
        storage = Dictionary(elements, uniquingKeysWith: { _, new in new })
    }
}

// MARK: - CustomStringConvertible

extension Metadata: CustomStringConvertible {
    /// The entries sorted by key, e.g. `[partition: 3, source: orders]`.
    public var description: String {
        "[" + storage.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }
}
